"""The MODEL that nodes receive: a patcher whose ``get_model_object`` finds the model's parts."""

from .model_sampling import ModelSamplingDiscrete


class ModelPatcher:
    def __init__(self, model_sampling=None):
        self.objects = {"model_sampling": model_sampling or ModelSamplingDiscrete()}

    def get_model_object(self, name):
        return self.objects[name]
