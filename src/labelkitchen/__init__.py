"""labelkitchen: build labelled text datasets in one process and one SQLite file.

The Python API for notebooks: open a store on a database URL and call the services.

>>> import labelkitchen as lk
>>> store = lk.Store.open("sqlite:///labelkitchen.db")          # doctest: +SKIP
>>> lk.create_project(store, spec={"slug": "spam", "task": "classify",
...                               "labels": ["spam", "ham"]})   # doctest: +SKIP
>>> lk.import_files(store, project="spam", paths=[Path("comments.jsonl")])  # doctest: +SKIP
"""

from __future__ import annotations

from importlib.metadata import PackageNotFoundError, version

from labelkitchen.errors import (
    Conflict,
    ImportFailed,
    InvalidInput,
    LabelkitchenError,
    NotFitted,
    NotFound,
    PermissionDenied,
)
from labelkitchen.schema import ABSTAIN, Goal, Label, Project, ProjectSpec, TaskType, make_spec
from labelkitchen.services.exporting import ExportReport, export_project
from labelkitchen.services.importing import (
    ImportOptions,
    ImportReport,
    content_hash,
    import_files,
    import_rows,
)
from labelkitchen.services.projects import (
    create_project,
    delete_project,
    get_project,
    list_projects,
    update_project,
)
from labelkitchen.services.stats import ProjectStats, project_stats
from labelkitchen.settings import Settings
from labelkitchen.store import Store

try:
    __version__ = version("labelkitchen")
except PackageNotFoundError:  # running from a source tree that is not installed
    __version__ = "0.0.0"

__all__ = [
    "ABSTAIN",
    "Conflict",
    "ExportReport",
    "Goal",
    "ImportFailed",
    "ImportOptions",
    "ImportReport",
    "InvalidInput",
    "Label",
    "LabelkitchenError",
    "NotFitted",
    "NotFound",
    "PermissionDenied",
    "Project",
    "ProjectSpec",
    "ProjectStats",
    "Settings",
    "Store",
    "TaskType",
    "__version__",
    "content_hash",
    "create_project",
    "delete_project",
    "export_project",
    "get_project",
    "import_files",
    "import_rows",
    "list_projects",
    "make_spec",
    "project_stats",
    "update_project",
]
