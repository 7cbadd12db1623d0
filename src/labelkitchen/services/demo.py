"""The demo: the YouTube spam project, built from the packaged data in one call."""

from __future__ import annotations

import contextlib
import itertools
from dataclasses import dataclass

from labelkitchen.demo import (
    DEMO_PROJECT,
    DEMO_SLUG,
    TEST_FILE,
    TRAIN_FILES,
    demo_rows,
    lfs_path,
)
from labelkitchen.errors import NotFound
from labelkitchen.schema import Project
from labelkitchen.services import accounts
from labelkitchen.services.importing import ImportOptions, ImportReport, import_rows
from labelkitchen.services.projects import create_project, delete_project, get_project
from labelkitchen.services.weak import (
    LFApplyReport,
    WeakFitReport,
    apply_project_lfs,
    fit_label_model,
    load_lfs,
)
from labelkitchen.store import Store

DEMO_USER = "demo"
DEMO_PASSWORD = "labelkitchen-demo"  # a local demo login, printed by the demo command


@dataclass(frozen=True)
class DemoReport:
    project: Project
    created: bool
    test: ImportReport
    train: ImportReport
    lfs: LFApplyReport
    label_model: WeakFitReport


def build_demo(store: Store, *, reset: bool = False) -> DemoReport:
    """Create (or refresh) the demo project, import its comments, label them weakly.

    The test split is one video's comments with their gold labels, imported first so that a
    comment posted under several videos counts as test data; the other four videos are the
    unlabelled training pool. Then the demo's labelling functions vote and a label model turns
    their votes into probabilistic labels. Running it again adds no records.
    """
    if reset:
        with contextlib.suppress(NotFound):
            delete_project(store, slug=DEMO_SLUG)
    try:
        project = get_project(store, slug=DEMO_SLUG)
        created = False
    except NotFound:
        project = create_project(store, spec=DEMO_PROJECT)
        created = True
    test = import_rows(
        store,
        project=DEMO_SLUG,
        rows=demo_rows(TEST_FILE, with_labels=True),
        options=ImportOptions(split="test", labels_as="gold"),
        name=TEST_FILE,
    )
    train = import_rows(
        store,
        project=DEMO_SLUG,
        rows=itertools.chain.from_iterable(
            demo_rows(name, with_labels=False) for name in TRAIN_FILES
        ),
        options=ImportOptions(split="train"),
        name="+".join(TRAIN_FILES),
    )
    lfs = apply_project_lfs(store, project=DEMO_SLUG, lfs=load_lfs(lfs_path()))
    label_model = fit_label_model(store, project=DEMO_SLUG)
    _ensure_demo_user(store)
    return DemoReport(
        project=project, created=created, test=test, train=train, lfs=lfs, label_model=label_model
    )


def _ensure_demo_user(store: Store) -> None:
    """The demo login: an admin who owns the demo project."""
    if not any(user.username == DEMO_USER for user in accounts.list_users(store)):
        accounts.create_user(store, username=DEMO_USER, password=DEMO_PASSWORD, is_admin=True)
    accounts.set_member(store, project=DEMO_SLUG, username=DEMO_USER, role="owner")


__all__ = ["DEMO_PASSWORD", "DEMO_USER", "DemoReport", "build_demo"]
