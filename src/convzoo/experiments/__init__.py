"""What the experiments share (studies, search, baselines' compare): the statistics of seeds and
comparisons (stats), a run's state on disk (runs), engine subprocesses and shards (processes), and
the figures' one way to be drawn and saved (figures). It imports the engine below it, never an
experiment above it.
"""
