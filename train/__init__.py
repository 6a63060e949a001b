"""Training and measuring the stance and signal reader: data loaders, scores, the training run.

Not part of the installed package: it reads labelled data from paths given on the command line
(FNC-1, Emergent) and from ``train/corpus/`` (our own invented sentences), and writes the weights
the package ships in ``monitor/reading/model/data/``.
"""
