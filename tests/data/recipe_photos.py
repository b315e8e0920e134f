"""The photos that TensorFlow's reference outputs for the recipe's image ops were computed on (RGB uint8).

Shared by tests/data/make_tf_reference.py (which runs under TensorFlow) and tests/test_transforms/test_recipe_photos.py:
eight scikit-image photos cut to eight different sizes, ImageNet's typical 375 x 500 and 500 x 375 among them.
"""

import numpy as np
from skimage import data

# name -> (scikit-image function, rows, columns): the crop of that photo.
PHOTOS = {
    'chelsea': ('chelsea', slice(None), slice(None)),  # 300 x 451
    'astronaut': ('astronaut', slice(None), slice(None)),  # 512 x 512
    'coffee': ('coffee', slice(0, 375), slice(50, 550)),  # 375 x 500
    'rocket': ('rocket', slice(None), slice(None)),  # 427 x 640
    'hubble': ('hubble_deep_field', slice(None), slice(None)),  # 872 x 1000
    'cells': ('immunohistochemistry', slice(100, 433), slice(0, 480)),  # 333 x 480
    'colorwheel': ('colorwheel', slice(None), slice(None)),  # 370 x 371
    'camera': ('camera', slice(6, 506), slice(60, 435)),  # 500 x 375, grey as RGB
}


def photo(name: str) -> np.ndarray:
    function, rows, cols = PHOTOS[name]
    image = getattr(data, function)()[rows, cols]
    if image.ndim == 2:
        image = np.repeat(image[..., None], 3, axis=2)
    return np.ascontiguousarray(image)


def digest(image: np.ndarray) -> str:
    """sha256 of an array's shape and bytes: how the reference records outputs too large to store."""
    import hashlib

    return hashlib.sha256(str(image.shape).encode() + np.ascontiguousarray(image).tobytes()).hexdigest()
