"""The demo project: the YouTube Spam Collection (CC BY 4.0, see ``data/LICENSE.md``).

Pure: it defines the project and yields rows from the packaged CSV files. The demo service
imports them; later features add its labelling functions here.
"""

from __future__ import annotations

from collections.abc import Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from labelkitchen.io.readers import read_rows

DEMO_SLUG = "youtube-spam"
TEST_FILE = "Youtube05-Shakira.csv"
TRAIN_FILES = (
    "Youtube01-Psy.csv",
    "Youtube02-KatyPerry.csv",
    "Youtube03-LMFAO.csv",
    "Youtube04-Eminem.csv",
)
LABEL_NAMES = {"1": "spam", "0": "ham"}

DEMO_PROJECT: dict[str, Any] = {
    "slug": DEMO_SLUG,
    "name": "YouTube comment spam",
    "description": (
        "Comments from the comment sections of five music videos (YouTube Spam Collection, "
        "Alberto et al. 2015, CC BY 4.0). Mark each comment as spam or ham."
    ),
    "task": "classify",
    "labels": [
        {
            "name": "spam",
            "hotkey": "1",
            "color": "#D55E00",
            "description": "Promotes something unrelated to the video: links, 'check out my "
            "channel', 'subscribe to me', giveaways, money offers.",
        },
        {
            "name": "ham",
            "hotkey": "2",
            "color": "#0072B2",
            "description": "A real comment about the video, the song or the artist, even if "
            "rude or off-topic chatter.",
        },
    ],
    "goal": {
        "text": "Hide spam under music videos without hiding real fans' comments: a hidden "
        "fan comment costs more trust than a visible spam comment.",
        "metric": "precision",
        "label": "spam",
        "target": 0.95,
    },
}


def data_dir() -> Path:
    return Path(str(resources.files("labelkitchen.demo") / "data"))


def lfs_path() -> Path:
    """The demo's labelling functions: declarative rules in YAML."""
    return Path(str(resources.files("labelkitchen.demo") / "spam_lfs.yaml"))


def demo_rows(file_name: str, *, with_labels: bool) -> Iterator[dict[str, Any]]:
    """Rows of one packaged CSV, ready for import (id, text, meta and, if asked, label)."""
    path = data_dir() / file_name
    rows, _ = read_rows(path, fmt="csv")
    video = file_name.removesuffix(".csv").split("-", 1)[1]
    for row in rows:
        if row.data is None:  # the packaged files are clean; a failure here is a packaging bug
            raise RuntimeError(f"{path}, line {row.line}: {row.error}")
        data = row.data
        item: dict[str, Any] = {
            "id": data["COMMENT_ID"],
            "text": data["CONTENT"].rstrip("\ufeff"),
            "author": data["AUTHOR"],
            "date": data["DATE"] or None,
            "video": video,
        }
        if with_labels:
            item["label"] = LABEL_NAMES[data["CLASS"]]
        yield item


__all__ = [
    "DEMO_PROJECT",
    "DEMO_SLUG",
    "TEST_FILE",
    "TRAIN_FILES",
    "data_dir",
    "demo_rows",
    "lfs_path",
]
