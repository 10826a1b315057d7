"""Analysis of models: operation counts (and, from other modules, summaries and studies)."""

from .flops import count_macs, default_input_macs

__all__ = ["count_macs", "default_input_macs"]
