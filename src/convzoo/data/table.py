"""The datasets convzoo knows, one `DatasetSpec` each: the table the catalog searches and fetches by."""

from __future__ import annotations

from .spec import PACKAGE_FILES, DatasetSpec, RemoteFile, all_required, idx_files, scene_files

_DIGITS = tuple(str(d) for d in range(10))
_FASHION = ("T-shirt/top", "Trouser", "Pullover", "Dress", "Coat", "Sandal", "Shirt", "Sneaker", "Bag",
            "Ankle boot")
_GET_FASHION = "`apt-get install dataset-fashion-mnist`, or `convzoo data get fashion-mnist`"


DATASETS: dict[str, DatasetSpec] = {
    spec.name: spec for spec in [
        DatasetSpec(
            "fashion-mnist", "Zalando's Fashion-MNIST: 60,000 + 10,000 28x28 grey clothing images",
            classes=_FASHION, shape=(1, 28, 28), mean=(0.2860,), std=(0.3530,),
            files=idx_files(
                "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
                "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
                "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
                "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34"),
            mirrors=("http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/",),
            system_dirs=("/usr/share/datasets/fashion-mnist",),
            how_to_get=_GET_FASHION, offline="`apt-get install dataset-fashion-mnist` (Debian, Ubuntu)",
        ),
        DatasetSpec(
            "mnist", "LeCun et al.'s MNIST digits: 60,000 + 10,000 28x28 grey images",
            classes=_DIGITS, shape=(1, 28, 28), mean=(0.1307,), std=(0.3081,), flippable=False,
            files=idx_files(
                "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
                "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
                "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
                "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2"),
            mirrors=("https://ossci-datasets.s3.amazonaws.com/mnist/",
                     "https://storage.googleapis.com/cvdf-datasets/mnist/"),
            how_to_get="`convzoo data get mnist` (needs internet), or --data-dir pointing at IDX files; "
                       "10,000 real digits ship with convzoo as `mnist-sample`",
            offline="`--data mnist-sample` trains on the 10,000 real MNIST digits that ship with convzoo",
        ),
        DatasetSpec(
            "mnist-sample", "10,000 real MNIST digits that ship with convzoo (no test split: "
                            "1,000 are held out, seeded)",
            classes=_DIGITS, shape=(1, 28, 28), mean=(0.1307,), std=(0.3081,), flippable=False,
            files=(RemoteFile("train-images-idx3-ubyte.gz",
                              "9cec9a838743261824eeed1965ae7c6049e7d42ac072d5ed70df898b7b2ddf84"),
                   RemoteFile("train-labels-idx1-ubyte.gz",
                              "5df116f85ee6caf392bf8d41cf6143959f8b68631711b0bb658ae79ecd8075d8")),
            system_dirs=(str(PACKAGE_FILES / "mnist-sample"),), origin="package",
            how_to_get="nothing to get: it ships inside the convzoo package (data/files/mnist-sample); "
                       "reinstall convzoo if it is missing",
        ),
        DatasetSpec(
            "digit-scenes", "segmentation: 64x64 canvases of 1-4 real MNIST digits (from mnist-sample) "
                            "with a class mask, 10,000 + 2,000, generated",
            classes=("background", *_DIGITS), shape=(1, 64, 64), mean=(0.0621,), std=(0.2225,),
            flippable=False,
            files=scene_files(
                "c81d5c5478dc550f82bea8261bc9e82af97a33d2df1c1ebb44eafb81aa126155",
                "96f67e6b2b85627227a46b323537efb5186bf75fc3b49829fbbbacaff2b4498a",
                "9454b14712310c931b75e4ed3ddbdfdecd4abf92ab16445ae678c21f5fe6fc59",
                "641598f19b51ad9e30e5b7c7f1e3a56942ac088b46aa0a262bd15c7be40764e6"),
            origin="generated", source="mnist-sample", task="segmentation",
            how_to_get="`convzoo data get digit-scenes` (made in seconds from the digits that ship with convzoo)",
        ),
        DatasetSpec(
            "fashion-scenes", "segmentation: 64x64 canvases of 1-4 Fashion-MNIST items with a class mask, "
                              "10,000 + 2,000, generated",
            classes=("background", *_FASHION), shape=(1, 64, 64), mean=(0.1169,), std=(0.2663,),
            files=scene_files(
                "6e5dfae129040c1e2c6955940622831bfc3ab38626e71c9901d96d4258474bb0",
                "191a91582d21c98355c9946672846fa86fbafcb8db6acb25eb73461e7d201133",
                "3d02bff7d2e8737cd0f5760cac7c0ba51e905c235c05ad9cc69f08cadc47a2ce",
                "e08dbb3a74c24ba0b1c94d806338ffa817bccd58940d4b0ae541cdb743a2a18d"),
            origin="generated", source="fashion-mnist", task="segmentation",
            how_to_get="`convzoo data get fashion-scenes` (made in seconds from Fashion-MNIST, which it "
                       f"needs: {_GET_FASHION})",
        ),
        DatasetSpec(
            "spoken-digits", "speech: the digits 0-9 spoken by espeak-ng (SYNTHETIC speech, not recordings) in "
                             "320 voices, as 40x101 log-mel spectrograms of 1 s; 4,800 + 800, the test voices "
                             "held out; generated",
            classes=_DIGITS, shape=(1, 40, 101), mean=(0.5306,), std=(0.1583,), flippable=False,
            files=all_required(
                "5856f4bd3b1b171c2ecb6817a7e3925206595817c2b7fb50e8c6c13c352ca992",
                "1098e2d0f424cd3a2490c6873033b22a6181e884e9326d809c658d1fba8415bf",
                "adbf96168181ae65e1d832ceff21cff0a556b7f9e48e3cb7d2a201cdd0e61fae",
                "389ce64efdd5baedd4ecc93ccae9894845adc2baddf381eb569218fcca69b960"),
            origin="generated",
            how_to_get="`convzoo data get spoken-digits` (about a minute and a half on 2 cores; needs Debian's "
                       "espeak-ng: `apt-get install espeak-ng`, or `sh scripts/ensure-speech.sh`)",
            extra={"modality": "audio", "espeak-ng": "1.51"},
        ),
        DatasetSpec(
            "cifar10", "Krizhevsky's CIFAR-10: 50,000 + 10,000 32x32 colour images",
            classes=("airplane", "automobile", "bird", "cat", "deer", "dog", "frog", "horse", "ship",
                     "truck"),
            shape=(3, 32, 32), mean=(0.4914, 0.4822, 0.4465), std=(0.2470, 0.2435, 0.2616),
            files=(RemoteFile("cifar-10-python.tar.gz",
                              "6d958be074577803d12ecdefd02955f39262c83c16fe9348329d7fe0b5c001ce",
                              payload=False),),
            mirrors=("https://www.cs.toronto.edu/~kriz/",),
            how_to_get="`convzoo data get cifar10` (needs internet)",
        ),
        DatasetSpec(
            "imagefolder", "your own images: one folder per class (PNG/JPEG), given by --data-dir",
            classes=(), shape=(3, 0, 0), mean=(0.5, 0.5, 0.5), std=(0.25, 0.25, 0.25),
            how_to_get="pass --data-dir ROOT with ROOT/<class>/*.png (or ROOT/train and ROOT/test)",
        ),
    ]
}
