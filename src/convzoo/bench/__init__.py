"""Benchmarks, all measured through one timing core (timing.py: alternating rounds, medians, peak
RSS, the machine's description, the text table): the training step against the textbook loop
(train.py), inference latency and throughput (infer.py), the data pipeline (data.py), the machine's
matmul peak (peak.py), NumPy's reference conv against torch's (reference.py), the demo's answer time
(demo.py), and the race to the textbook's accuracy (race.py, textbook.py).

Nothing is imported here eagerly: `convzoo.bench.timing` stays importable from any layer (the
Trainer's setup choice uses it) without pulling in the benchmarks, which import the Trainer.
"""
