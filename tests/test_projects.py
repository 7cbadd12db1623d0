"""Projects: create, list, show, update, delete; label sets and goals validated."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from tests.conftest import snapshot

from labelkitchen.errors import Conflict, InvalidInput, NotFound
from labelkitchen.services.importing import import_rows
from labelkitchen.services.projects import (
    create_project,
    delete_project,
    get_project,
    list_projects,
    read_project_file,
    update_project,
)
from labelkitchen.store import Store

SPEC = {"slug": "spam", "task": "classify", "labels": ["spam", "ham"]}


def test_create_fills_hotkeys_and_colours(store: Store) -> None:
    project = create_project(store, spec=SPEC)
    assert [(lb.name, lb.hotkey) for lb in project.spec.labels] == [("spam", "1"), ("ham", "2")]
    assert all(lb.color and lb.color.startswith("#") for lb in project.spec.labels)
    assert get_project(store, slug="spam") == project


def test_list_is_sorted_by_slug(store: Store) -> None:
    for slug in ("b", "a"):
        create_project(store, spec={**SPEC, "slug": slug})
    assert [p.slug for p in list_projects(store)] == ["a", "b"]


def test_duplicate_slug_conflicts(store: Store) -> None:
    create_project(store, spec=SPEC)
    with pytest.raises(Conflict, match="already exists"):
        create_project(store, spec=SPEC)


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"labels": ["a", "a"]}, "label name 'a' is used twice"),
        (
            {"labels": [{"name": "a", "hotkey": "x"}, {"name": "b", "hotkey": "x"}]},
            "hotkey 'x' is used twice",
        ),
        ({"labels": [{"name": "a", "color": "red"}]}, "#rrggbb"),
        ({"labels": []}, "labels"),
        ({"task": "sorting"}, "task"),
        ({"slug": "Bad Slug"}, "slug"),
        ({"goal": {"metric": "precision"}}, "name the label"),
        ({"goal": {"metric": "f1", "label": "eggs"}}, "goal label 'eggs'"),
        ({"goal": {"target": 1.5}}, "target"),
        ({"labels": [" padded"]}, "leading or trailing spaces"),
    ],
)
def test_invalid_specs_are_explained(store: Store, change: dict, message: str) -> None:
    with pytest.raises(InvalidInput, match=message):
        create_project(store, spec={**SPEC, **change})


def test_goal_is_stored(store: Store) -> None:
    goal = {"text": "catch spam", "metric": "precision", "label": "spam", "target": 0.9}
    project = create_project(store, spec={**SPEC, "goal": goal})
    assert project.spec.goal.model_dump(mode="json") == goal


def test_update_name_goal_and_add_label(store: Store) -> None:
    create_project(store, spec=SPEC)
    project = update_project(
        store,
        slug="spam",
        changes={
            "name": "Spam!",
            "goal": {"target": 0.8},
            "labels": ["spam", "ham", {"name": "unsure", "description": "?"}],
        },
    )
    assert project.spec.name == "Spam!"
    assert project.spec.goal.target == 0.8
    assert project.label_names == ("spam", "ham", "unsure")


@pytest.mark.parametrize(
    ("changes", "message"),
    [
        ({"task": "spans"}, "task of a project cannot change"),
        ({"labels": ["spam"]}, "cannot be removed"),
    ],
)
def test_update_refuses_breaking_changes(store: Store, changes: dict, message: str) -> None:
    create_project(store, spec=SPEC)
    with pytest.raises(InvalidInput, match=message):
        update_project(store, slug="spam", changes=changes)


def test_delete_removes_records_and_annotations(store: Store) -> None:
    create_project(store, spec=SPEC)
    import_rows(store, project="spam", rows=[{"text": "x", "label": "spam"}])
    delete_project(store, slug="spam")
    assert all(rows == [] for rows in snapshot(store).values())


def test_missing_project_lists_the_others(store: Store) -> None:
    create_project(store, spec=SPEC)
    with pytest.raises(NotFound, match="no project 'nope'; projects: spam"):
        get_project(store, slug="nope")


def test_project_from_toml(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text(
        'slug = "news"\ntask = "multilabel"\n[goal]\nmetric = "macro_f1"\ntarget = 0.7\n'
        '[[labels]]\nname = "sport"\nhotkey = "s"\ndescription = "Games"\n'
        '[[labels]]\nname = "tech"\n[settings]\noverlap = 3\n',
        encoding="utf-8",
    )
    project = create_project(store, spec=read_project_file(path))
    assert project.label_names == ("sport", "tech")
    assert project.spec.labels[0].hotkey == "s"
    assert project.spec.settings.overlap == 3


def test_project_from_yaml(store: Store, tmp_path: Path) -> None:
    path = tmp_path / "p.yaml"
    path.write_text("slug: ner\ntask: spans\nlabels: [PER, LOC]\n", encoding="utf-8")
    assert create_project(store, spec=read_project_file(path)).task.value == "spans"


def test_broken_project_file_is_named(tmp_path: Path) -> None:
    path = tmp_path / "p.toml"
    path.write_text("slug = ", encoding="utf-8")
    with pytest.raises(InvalidInput, match=re.escape("p.toml: not valid TOML")):
        read_project_file(path)
