"""The tuning panel: a control per key, the live sigma chart, the numbers, and Save to the YAML.

Built by the same code for the standalone lab page (``python -m simple_kes lab``) and for the
WebUI's accordion. The callbacks are plain functions of values, tested without a browser; the
Gradio wiring is kept to ``build_panel``. Works with Gradio 3.41 (A1111, reForge) and 4.40 (Forge).
"""

from __future__ import annotations

import dataclasses
import html
from pathlib import Path
from typing import Any, Sequence

from ..config import ConfigError
from ..validation import validate
from ..parameters import SD_SIGMA_MAX, SD_SIGMA_MIN, is_random_key
from ..schedule_catalogue import SCHEDULE_NAMES
from . import presets
from .chart import compare, svg
from .manager import ConfigManager
from .controls import from_control_value, to_control_value
from .webui_options import SettingSpec, option_key, setting_specs

DEFAULT_STEPS = 20
# The chart's "Compare with" menu: nothing more than the two blended schedules, or any schedule of the guides.
NO_COMPARISON = "(only the blended two)"
COMPARE_CHOICES = (NO_COMPARISON, *SCHEDULE_NAMES)


def is_random_control(spec: SettingSpec) -> bool:
    return is_random_key(spec.parameter)


def panel_specs(manager: ConfigManager) -> list[SettingSpec]:
    """The controls, in declaration order (randomization keys last, as in the YAML)."""
    return setting_specs(manager.config)


def config_from_controls(manager: ConfigManager, specs: Sequence[SettingSpec], values: Sequence[Any]):
    """The config the controls describe (not saved): the file's config with the shown values in it.

    Checked by the one validation pipeline without its step sweep: the chart computes the schedule
    for its step count next and shows that count's problem beside the other curves; Save sweeps.
    """
    changes = {spec.parameter.name: from_control_value(spec.parameter, value) for spec, value in zip(specs, values)}
    return validate(changes, manager.config, steps=(), source="the panel")


def redraw(manager: ConfigManager, specs: Sequence[SettingSpec], steps: Any, model_sigma_min: Any,
           model_sigma_max: Any, compare_with: Any, *values: Any) -> tuple[str, dict[str, list], str]:
    """Chart, table (headers and rows) and copyable text for what the controls show right now."""
    try:
        config = config_from_controls(manager, specs, values)
        comparison = compare(config, int(steps), float(model_sigma_min), float(model_sigma_max),
                             compare_with=None if compare_with in (None, NO_COMPARISON) else compare_with)
    except (ConfigError, ValueError) as error:
        message = html.escape(str(error))
        return (f'<div class="kes-error" style="color:#b42318;white-space:pre-wrap">{message}</div>',
                {"headers": ["step"], "data": []}, "")
    chart = svg(comparison)
    if comparison.error:
        chart += f'<div class="kes-error" style="color:#b42318;white-space:pre-wrap">{html.escape(comparison.error)}</div>'
    rows = [[_round(value) for value in row] for row in comparison.table()]
    return chart, {"headers": comparison.headers(), "data": rows}, comparison.tsv()


def _round(value: Any) -> Any:
    return float(f"{value:.6g}") if isinstance(value, float) else value


def save(manager: ConfigManager, specs: Sequence[SettingSpec], *values: Any) -> str:
    """Write the controls that differ from the file to the YAML (atomic, comments kept); a status line."""
    current = manager.config
    changes = {}
    for spec, value in zip(specs, values):
        converted = from_control_value(spec.parameter, value)
        if converted != getattr(current, spec.parameter.name):
            changes[spec.parameter.name] = converted
    if not changes:
        return f"Nothing to save: {manager.path} already has these values."
    try:
        manager.save(changes)
    except ConfigError as error:
        return f"Not saved, the file is unchanged:\n{error}"
    return f"Saved {', '.join(sorted(changes))} to {manager.path}."


def status(manager: ConfigManager) -> str:
    """Which file is in force, and its last error if the latest edit was refused (HTML, escaped).

    Carries ``data-kes-version``, the manager's version these values are from: the lab page compares it
    with the server's to know whether the file changed since it last asked.
    """
    path = html.escape(display_path(manager.path))
    if manager.last_error:
        text = (f"<b>{path}</b> has an error; the last good values stay in force:"
                f'<pre style="white-space:pre-wrap">{html.escape(manager.last_error)}</pre>')
    else:
        notes = "".join(f"<br>Note: {html.escape(notice)}" for notice in manager.notices)
        text = f"Values of <b>{path}</b>, reloaded when the file is saved.{notes}"
    return f'<div class="kes-status" data-kes-version="{manager.version}">{text}</div>'


def display_path(path: Path) -> str:
    """The path as a user would type it: ``~/...`` under the home folder."""
    try:
        return str(Path("~") / path.relative_to(Path.home()))
    except (ValueError, RuntimeError):  # not under the home folder, or no home folder known
        return str(path)


def preset_control_values(name: str, specs: Sequence[SettingSpec], values: Sequence[Any]) -> list[Any]:
    """The controls with a preset's schedule values in place; the randomization controls keep theirs."""
    chosen = presets.preset_values(name)
    return [to_control_value(spec.parameter, chosen[spec.parameter.name]) if spec.parameter.name in chosen else value
            for spec, value in zip(specs, values)]


def file_values(manager: ConfigManager, specs: Sequence[SettingSpec]) -> list[Any]:
    """What each control should show for the config in force."""
    return [to_control_value(spec.parameter, getattr(manager.config, spec.parameter.name)) for spec in specs]


@dataclasses.dataclass
class Panel:
    """The components of one built panel, for the page that hosts it."""

    specs: list[SettingSpec]
    controls: list[Any]
    steps: Any
    model_sigma_min: Any
    model_sigma_max: Any
    compare_with: Any
    chart: Any
    table: Any
    numbers: Any
    status: Any
    save_button: Any
    reload_button: Any
    save_result: Any
    preset: Any
    preset_button: Any

    def follow_file(self, manager: ConfigManager, steps, model_sigma_min, model_sigma_max, compare_with) -> list[Any]:
        """Every control at the file's value, the chart and numbers redrawn, the status line (``file_outputs``)."""
        values = file_values(manager, self.specs)
        chart, table, text = redraw(manager, self.specs, steps, model_sigma_min, model_sigma_max, compare_with,
                                    *values)
        return values + [chart, table, text, status(manager)]

    @property
    def chart_inputs(self) -> list[Any]:
        """The chart's own controls (not saved): steps, the model range and the comparison, in ``redraw``'s order."""
        return [self.steps, self.model_sigma_min, self.model_sigma_max, self.compare_with]

    def file_outputs(self) -> list[Any]:
        """What ``follow_file`` updates, in its order."""
        return [*self.controls, self.chart, self.table, self.numbers, self.status]


def build_panel(manager: ConfigManager, elem_prefix: str = "kes") -> Panel:
    """Create the panel's components in the current Gradio layout and wire its events."""
    import gradio as gr
    specs = panel_specs(manager)
    values = file_values(manager, specs)
    status_box = gr.HTML(status(manager), elem_id=f"{elem_prefix}_status")
    with gr.Row():
        steps = gr.Slider(1, 150, value=DEFAULT_STEPS, step=1, label="Steps (for the chart)",
                          elem_id=f"{elem_prefix}_steps")
        model_sigma_min = gr.Number(value=SD_SIGMA_MIN, label="Model sigma_min", elem_id=f"{elem_prefix}_model_sigma_min")
        model_sigma_max = gr.Number(value=SD_SIGMA_MAX, label="Model sigma_max", elem_id=f"{elem_prefix}_model_sigma_max")
        compare_with = gr.Dropdown(list(COMPARE_CHOICES), value=NO_COMPARISON, label="Compare with",
                                   elem_id=f"{elem_prefix}_compare_with",
                                   info="draw one more schedule of the guides over the model's range")
    chart_html, table_value, text = redraw(manager, specs, DEFAULT_STEPS, SD_SIGMA_MIN, SD_SIGMA_MAX, NO_COMPARISON,
                                           *values)
    chart = gr.HTML(chart_html, elem_id=f"{elem_prefix}_chart")
    controls = []
    with gr.Row():
        with gr.Column():
            for spec, value in zip(specs, values):
                if not is_random_control(spec):
                    controls.append(_control(gr, spec, value, elem_prefix))
            with gr.Accordion("Randomization", open=False):
                for spec, value in zip(specs, values):
                    if is_random_control(spec):
                        controls.append(_control(gr, spec, value, elem_prefix))
        with gr.Column():
            table = gr.Dataframe(table_value, label="Sigmas", interactive=False, elem_id=f"{elem_prefix}_table")
            numbers = gr.Textbox(text, label="The numbers, tab-separated", lines=4, max_lines=8,
                                 show_copy_button=True, elem_id=f"{elem_prefix}_numbers")
    ordered_specs = [spec for spec in specs if not is_random_control(spec)] + [spec for spec in specs if is_random_control(spec)]
    with gr.Row():
        # A file that matches no preset shows no choice: "custom" is no entry of the menu (Gradio 4 warns).
        matching = presets.matching_preset(manager.config)
        preset = gr.Dropdown(list(presets.preset_paths()), value=None if matching == presets.CUSTOM else matching,
                             label="Preset", info=presets.preset_guide(), elem_id=f"{elem_prefix}_preset")
        preset_button = gr.Button("Load the preset into the controls", elem_id=f"{elem_prefix}_load_preset")
        save_button = gr.Button("Save to the YAML", variant="primary", elem_id=f"{elem_prefix}_save")
        reload_button = gr.Button("Show the file's values", elem_id=f"{elem_prefix}_reload")
    save_result = gr.Markdown(elem_id=f"{elem_prefix}_save_result")
    panel = Panel(ordered_specs, controls, steps, model_sigma_min, model_sigma_max, compare_with, chart, table, numbers,
                  status_box, save_button, reload_button, save_result, preset, preset_button)
    _wire(gr, manager, panel)
    return panel


def _control(gr, spec: SettingSpec, value: Any, elem_prefix: str):
    elem_id = f"{elem_prefix}_{option_key(spec.parameter.name)}"
    if spec.kind == "checkbox":
        return gr.Checkbox(value=value, label=spec.label, info=spec.info, elem_id=elem_id)
    if spec.kind == "dropdown":
        return gr.Dropdown(list(spec.choices), value=value, label=spec.label, info=spec.info, elem_id=elem_id)
    return gr.Slider(spec.minimum, spec.maximum, value=value, step=spec.step, label=spec.label, info=spec.info,
                     elem_id=elem_id)


def _wire(gr, manager: ConfigManager, panel: Panel) -> None:
    """User edits redraw at once; Save writes the file. Programmatic updates (a poll) redraw themselves."""
    inputs = [*panel.chart_inputs, *panel.controls]
    outputs = [panel.chart, panel.table, panel.numbers]

    def on_edit(*arguments):
        return redraw(manager, panel.specs, *arguments)

    for component in inputs:
        component.input(on_edit, inputs=inputs, outputs=outputs, show_progress="hidden")
    panel.save_button.click(lambda *values: save(manager, panel.specs, *values), inputs=panel.controls,
                            outputs=panel.save_result)
    def on_load_preset(name, steps, low, high, compare_with, *values):
        """Not saved: the user sees the preset on the chart first, then decides to Save."""
        if not name:
            raise gr.Error("Choose a preset in the menu first.")
        try:
            new_values = preset_control_values(name, panel.specs, values)
        except KeyError as error:  # its file was removed since the page loaded
            raise gr.Error(error.args[0]) from None
        except ConfigError as error:
            raise gr.Error(str(error)) from None
        return [*new_values, *redraw(manager, panel.specs, steps, low, high, compare_with, *new_values)]

    panel.preset_button.click(on_load_preset, inputs=[panel.preset, *inputs],
                              outputs=[*panel.controls, *outputs], show_progress="hidden")
    def on_reload(*chart_settings):
        return panel.follow_file(manager, *chart_settings)

    panel.reload_button.click(on_reload, inputs=panel.chart_inputs, outputs=panel.file_outputs(),
                              show_progress="hidden")

