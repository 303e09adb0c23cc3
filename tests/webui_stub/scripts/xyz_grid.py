"""Stand-in for the WebUI's scripts/xyz_grid.py: AxisOption with the real fields, the axis list and helpers."""

from modules import scripts


def format_value_add_label(p, opt, x):
    return f"{opt.label}: {x}"


def apply_field(field):
    def fun(p, x, xs):
        setattr(p, field, x)
    return fun


def apply_override(field, boolean: bool = False):
    def fun(p, x, xs):
        if boolean:
            x = True if x.lower() == "true" else False
        p.override_settings[field] = x
    return fun


class AxisOption:
    def __init__(self, label, type, apply, format_value=format_value_add_label, confirm=None, cost=0.0, choices=None,
                 prepare=None):
        self.label = label
        self.type = type
        self.apply = apply
        self.format_value = format_value
        self.confirm = confirm
        self.cost = cost
        self.prepare = prepare
        self.choices = choices


class AxisOptionImg2Img(AxisOption):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_img2img = True


class AxisOptionTxt2Img(AxisOption):
    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.is_img2img = False


axis_options = [
    AxisOption("Nothing", str, lambda p, x, xs: None),
    AxisOption("Steps", int, apply_field("steps")),
    AxisOption("Schedule type", str, apply_field("scheduler")),
]


class Script(scripts.Script):
    def title(self):
        return "X/Y/Z plot"

    def axis_options_for(self, is_img2img):
        # As the WebUI's ui(): an option from another copy of this file fails the type check and
        # then lacks is_img2img.
        return [x for x in axis_options if type(x) == AxisOption or x.is_img2img == is_img2img]
