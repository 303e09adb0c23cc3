"""The learned models: small class-conditional DDPMs on scikit-learn's handwritten digits, trained on SD
1.x's noise schedule and sampled through k-diffusion's CompVis wrapper exactly as the WebUI samples SD.

Modules by job: ``data`` (the digits, their resolution and the seeded splits), ``network`` (the UNet and
the classifier), ``denoiser`` (SD 1.x's schedule, the WebUI's wrapping, classifier-free guidance),
``training`` (the recipes and training), ``models`` (the committed weights, checked against their
checksums), ``metrics`` (class accuracy, Fréchet distance, contrast, histogram) and ``evaluation``
(sampling a model and measuring the samples); then ``benchmark`` (every schedule against Karras),
``search`` (a KES shape on the search model), ``bound`` (the best free-form schedule) and ``figure``.
"""
