"""The store as a local folder: :class:`LocalStore`, the first :class:`contract.store.ModelStore`.

Reads go through :mod:`contract.store`'s functions of the layout; publishing through
:mod:`contract.publishing` (staging, lease, atomic rename).
"""

from __future__ import annotations

from pathlib import Path

from contract import store
from contract.metadata import ModelMetadata
from contract.publishing import publish


class LocalStore:
    """A store that is a folder (TF Serving's layout); every :class:`ModelStore` method."""

    def __init__(self, root: Path) -> None:
        self.root = root

    @property
    def location(self) -> str:
        """The folder."""
        return str(self.root)

    def names(self) -> list[str]:
        """The models, sorted; :class:`contract.store.StoreMissing` without the folder."""
        if not self.root.exists():
            raise store.StoreMissing("the model store folder does not exist")
        if not self.root.is_dir():
            raise store.StoreError("the model store path is not a folder")
        try:
            return store.model_names(self.root)
        except OSError as e:
            raise store.StoreError(
                f"the model store cannot be read ({e.strerror or type(e).__name__})"
            ) from None

    def versions(self, name: str) -> list[int]:
        """The published versions of ``name``, ascending."""
        return store.versions(self.root, name)

    def read_metadata(self, name: str, version: int) -> ModelMetadata:
        """One version's ``metadata.json``, validated."""
        return store.read_metadata(store.version_dir(self.root, name, version))

    def read_labels(self, name: str) -> dict[str, int]:
        """``name``'s labels (label -> version); {} without any."""
        return store.read_labels(self.root, name)

    def write_labels(self, name: str, labels: dict[str, int]) -> None:
        """Replace ``name``'s labels atomically."""
        store.write_labels(self.root, name, labels)

    def read_asset(self, name: str, version: int, asset: str) -> bytes:
        """A file of the version's ``assets/``; :class:`AssetNotFound` when absent."""
        if "/" in asset or asset.startswith("."):
            raise store.AssetNotFound(f"no asset {asset!r}")
        path = store.version_dir(self.root, name, version) / store.ASSETS_DIR / asset
        try:
            return path.read_bytes()
        except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
            raise store.AssetNotFound(
                f"version {version} of {name!r} has no asset {asset!r}"
            ) from None

    def fingerprint(self, name: str, version: int) -> store.Fingerprint:
        """Sizes and times of the version folder and every file in it, whatever its kind."""
        folder = store.version_dir(self.root, name, version)
        parts = []
        for path in (folder, *sorted(folder.rglob("*"))):
            try:
                st = path.stat()
            except OSError:
                continue
            parts.append((path.relative_to(folder).as_posix(), st.st_mtime_ns, st.st_size))
        return tuple(parts)

    def local_folder(self, name: str, version: int) -> Path:
        """The version's own folder."""
        return store.version_dir(self.root, name, version)

    def publish(self, name: str, build: store.Build) -> int:
        """Build in ``.staging/`` under a lease, rename into place (:mod:`contract.publishing`)."""
        return publish(self.root, name, build)[0]
