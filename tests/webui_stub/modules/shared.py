"""Stand-in for modules/shared.py: the option templates, opts and the re-exported option helpers."""

from modules import options

options_templates = {}
opts = options.Options(options_templates)

options_section = options.options_section
OptionInfo = options.OptionInfo
OptionHTML = options.OptionHTML
