"""The executor's side of a prompt (an API-format graph): validation, then execution with the output cache.

As ComfyUI does it: a widget value must be in its choice list and within its "min"/"max"; a node is
re-executed only when its own inputs, its IS_CHANGED value or an upstream node changed, else its cached
outputs are used; an exception in a node stops that prompt with a node error and the queue goes on.
"""

import math

import nodes


def is_link(value):
    return isinstance(value, list) and len(value) == 2 and isinstance(value[0], str)


def input_specs(class_def):
    declared = class_def.INPUT_TYPES()
    return {**declared.get("required", {}), **declared.get("optional", {})}, set(declared.get("required", {}))


def validate_node(class_def, inputs):
    """The validation errors of one node's widget values, in ComfyUI's terms."""
    errors = []
    specs, required = input_specs(class_def)
    for name in required - set(inputs):
        errors.append({"type": "required_input_missing", "details": name})
    for name, value in inputs.items():
        if name not in specs or is_link(value):
            continue
        kind, options = specs[name][0], (specs[name][1] if len(specs[name]) > 1 else {})
        if isinstance(kind, list):
            if value not in kind:
                errors.append({"type": "value_not_in_list", "details": f"{name}: '{value}' not in {kind}"})
        elif kind in ("INT", "FLOAT"):
            if "min" in options and value < options["min"]:
                errors.append({"type": "value_smaller_than_min", "details": name,
                               "message": f"Value {value} smaller than min of {options['min']}"})
            elif "max" in options and value > options["max"]:
                errors.append({"type": "value_bigger_than_max", "details": name,
                               "message": f"Value {value} bigger than max of {options['max']}"})
    return errors


class PromptExecutor:
    def __init__(self):
        self.cache = {}  # node id -> (signature, outputs)

    def execute(self, prompt):
        """Run every output node; returns {"status", "outputs", "executed", "node_errors" or "error"}."""
        node_errors = {node_id: errors for node_id, node in prompt.items()
                       if (errors := validate_node(nodes.NODE_CLASS_MAPPINGS[node["class_type"]], node["inputs"]))}
        if node_errors:
            return {"status": "invalid", "node_errors": node_errors, "executed": []}
        self.executed, self.outputs = [], {}
        try:
            for node_id, node in prompt.items():
                if getattr(nodes.NODE_CLASS_MAPPINGS[node["class_type"]], "OUTPUT_NODE", False):
                    self._run(prompt, node_id)
        except NodeError as error:
            return {"status": "error", "error": error.report, "executed": self.executed}
        return {"status": "success", "outputs": self.outputs, "executed": self.executed}

    def run_node(self, prompt, node_id):
        """One node's outputs (and what it needs), as a later node would receive them."""
        self.executed, self.outputs = [], {}
        return self._run(prompt, node_id)[1]

    def _run(self, prompt, node_id):
        if node_id in self.outputs:
            return self.outputs[node_id]
        node = prompt[node_id]
        class_def = nodes.NODE_CLASS_MAPPINGS[node["class_type"]]
        arguments, upstream = {}, []
        for name, value in node["inputs"].items():
            if is_link(value):
                signature, outputs = self._run(prompt, value[0])
                arguments[name] = outputs[value[1]]
                upstream.append(signature)
            else:
                arguments[name] = value
        widgets = {name: value for name, value in node["inputs"].items() if not is_link(value)}
        changed = class_def.IS_CHANGED(**widgets) if hasattr(class_def, "IS_CHANGED") else False
        if isinstance(changed, float) and math.isnan(changed):
            changed = object()  # NaN never equals itself: always run again
        signature = (node["class_type"], repr(sorted(widgets.items())), changed, tuple(upstream))
        cached = self.cache.get(node_id)
        if cached is not None and cached[0] == signature:
            result = (signature, cached[1])
        else:
            try:
                outputs = getattr(class_def(), class_def.FUNCTION)(**arguments)
            except Exception as error:
                raise NodeError({"node_id": node_id, "node_type": node["class_type"],
                                 "exception_type": type(error).__name__, "exception_message": str(error)}) from error
            outputs = outputs if isinstance(outputs, tuple) else (outputs,)
            self.cache[node_id] = (signature, outputs)
            self.executed.append(node_id)
            result = (signature, outputs)
        self.outputs[node_id] = result
        return result


class NodeError(Exception):
    def __init__(self, report):
        super().__init__(report["exception_message"])
        self.report = report
