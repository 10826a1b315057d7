"""Benchmarks, all measured through the one timing core at the base of the package
(`convzoo.timing`: alternating rounds, medians, peak RSS, the machine's description): the training
step against the textbook loop (train.py), inference latency and throughput (infer.py), the data
pipeline (data.py), the machine's matmul peak (peak.py), NumPy's reference conv against torch's
(reference.py), the demo's answer time (demo.py), and the race to the textbook's accuracy (race.py,
textbook.py).
"""
