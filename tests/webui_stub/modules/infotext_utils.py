"""Stand-in for the part of modules/infotext_utils.py that turns pasted infotext into setting overrides."""

from modules import shared


def get_override_settings(params, *, skip_fields=None):
    """(infotext key, setting name, value) for pasted values that differ from the current setting."""
    result = []
    mapping = [(info.infotext, key) for key, info in shared.opts.data_labels.items() if info.infotext]
    for param_name, setting_name in mapping:
        if param_name in (skip_fields or {}):
            continue
        value = params.get(param_name, None)
        if value is None:
            continue
        value = shared.opts.cast_value(setting_name, value)
        if value == getattr(shared.opts, setting_name, None):
            continue
        result.append((param_name, setting_name, value))
    return result
