"""The course site's computed content, one module per topic of the theory chapters.

``arithmetic`` (convolution shapes and LeNet5), ``spatial`` (pooling and receptive
fields), ``cost`` (parameters and multiply-adds), ``activations``, ``softmax``,
``optimisers``, ``regularisation``, ``augmentation``, ``evaluation`` (F1,
confusion matrices, validation), ``learned`` (a trained LeNet5's filters) and
``course`` (the data, rules, leaderboard, benchmarks and API pages). ``common``
holds what they share. :mod:`autograder.site.content` calls them all.
"""
