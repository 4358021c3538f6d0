"""Real data for scoring and small trainings (images found through the data registry)."""

from harness.data.images import IMAGE_SETS, check_images, load_images, n_available

__all__ = ["IMAGE_SETS", "check_images", "load_images", "n_available"]
