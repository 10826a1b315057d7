"""Data: IDX/CIFAR/image-folder readers, verified downloads, in-memory batches, augmentation."""

from . import scenes, speech  # noqa: F401 - the generated datasets register their makers with the catalog
from .batches import Augment, BatchLoader, Normalizer, augment_batch
from .catalog import DATASETS, cache_root, dataset_spec, fetch, find_files, locate, obtain, verify_files
from .datasets import ArrayDataset, DataBundle, load_dataset
from .idx import read_idx, read_idx_pair, write_idx

__all__ = [
    "DATASETS", "ArrayDataset", "Augment", "BatchLoader", "DataBundle", "Normalizer", "augment_batch",
    "cache_root", "dataset_spec", "fetch", "find_files", "load_dataset", "locate", "obtain", "read_idx",
    "read_idx_pair", "verify_files", "write_idx",
]
