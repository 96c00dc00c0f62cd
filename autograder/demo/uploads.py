"""The demo class's files beyond notebooks: submission.csv, leaderboard uploads, teams, a model.

- each student's ``submission.csv`` (predictions right on a stated share of
  the test images, or a broken file);
- ``leaderboard/DAY/TEAM.csv``: three days of uploads by the registered
  teams, improving over time; one team uploads too often, one uploads
  labels looked up in the public files, an unregistered team and a BEAT ME
  look-alike try too;
- ``teams.csv``: who is in which team (``coursekit leaderboard --teams``);
- with a :class:`DemoModel`, ada hands in a real trained model and team
  Quota's last upload is its predictions, so the bonus's reproduction check
  has something real to agree with.
"""

from __future__ import annotations

import hashlib
import shutil
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from autograder.course.dataset import load_answer_key
from autograder.spreadsheet import csv_text

ASSIGNMENT = "cnn"
LEADERBOARD_DAYS = ("2026-11-10T20-00", "2026-11-11T20-00", "2026-11-12T20-00")
TEAMS_FILE = "teams.csv"
MODEL_FILE = "fashion_model.keras"
MODEL_TEAM = "Quota"  # uploads the handed-in model's predictions
#: Uploads from outside the registry: refused with a reason.
INTRUDERS = ("Intruders", "ᏴᎬᎪᎢ ᎷᎬ")  # unregistered; BEAT ME in Cherokee letters


@dataclass(frozen=True)
class DemoModel:
    """A trained Fashion-MNIST model file and its predicted classes for the test images."""

    path: Path
    predictions: np.ndarray


def predictions(key, accuracy: float, seed: int) -> np.ndarray:
    """Predicted classes right on about ``accuracy`` of the test images."""
    labels = np.asarray(key["Label"])
    rng = np.random.default_rng(seed)
    wrong = rng.random(len(labels)) >= accuracy
    predicted = labels.copy()
    predicted[wrong] = (labels[wrong] + rng.integers(1, 10, wrong.sum())) % 10
    return predicted


def write_predictions(path: Path, key, predicted: np.ndarray, bad: str = "") -> None:
    """A submission file; ``bad`` breaks it: "header" (wrong columns) or "rows" (100 missing)."""
    header = "Id,Label" if bad == "header" else "ID,Prediction"
    rows = list(zip(np.asarray(key["ID"]), predicted, strict=True))
    if bad == "rows":
        rows = rows[:-100]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(header + "\n" + "".join(f"{i},{p}\n" for i, p in rows))


def _seed(text: str) -> int:
    return int.from_bytes(hashlib.sha256(text.encode()).digest()[:4], "big")


def team_of(student) -> str:
    return student.team or student.id


def write_uploads(out: Path, submitted: Path, students, answer_key: Path, model: DemoModel | None):
    """Every file of the demo class that is not a notebook (see the module docstring)."""
    key = load_answer_key(answer_key)
    for student in students:
        folder = submitted / student.id / ASSIGNMENT
        if student.accuracy is not None or student.bad_csv:
            guessed = predictions(key, student.accuracy or 0.9, _seed(student.id))
            write_predictions(folder / "submission.csv", key, guessed, student.bad_csv)
        if student.model and model is not None:
            shutil.copyfile(model.path, folder / MODEL_FILE)
    teams: dict[str, list[str]] = {}
    for student in students:
        teams.setdefault(team_of(student), []).append(student.id)
    (out / TEAMS_FILE).write_text(
        csv_text(("team", "student"), [[team, s] for team, ids in teams.items() for s in ids])
    )
    _write_rounds(out / "leaderboard", students, key, model)


def _write_rounds(folder: Path, students, key, model: DemoModel | None) -> None:
    """Three days of uploads, one per team a day; the twists are in the module docstring."""
    last = len(LEADERBOARD_DAYS) - 1
    for day_index, day in enumerate(LEADERBOARD_DAYS):
        uploaded: set[str] = set()  # a team of two uploads once a day
        for student in students:
            team = team_of(student)
            if team in uploaded or (student.accuracy is None and not student.bad_csv):
                continue
            accuracy = (student.accuracy or 0.9) - 0.02 * (last - day_index)
            if model is not None and team == MODEL_TEAM:  # worse until the model is ready
                accuracy = 0.8 + 0.02 * day_index
            guessed = predictions(key, accuracy, _seed(f"{team}/{day}"))
            if day_index == last and model is not None and team == MODEL_TEAM:
                guessed = model.predictions  # the handed-in model's own predictions
            if day_index == last and team == "Kim's Team":
                guessed = np.asarray(key["Label"])  # looked up in the public files
            bad = student.bad_csv if day_index == last else ""
            write_predictions(folder / day / f"{team}.csv", key, guessed, bad)
            uploaded.add(team)
        for intruder in INTRUDERS:
            write_predictions(folder / day / f"{intruder}.csv", key, predictions(key, 0.95, 1))
    for attempt in range(7):  # one team uploads seven times within an hour on the last day
        guessed = predictions(key, 0.90 + 0.005 * attempt, 100 + attempt)
        write_predictions(folder / f"2026-11-12T21-{attempt:02d}" / "ben.csv", key, guessed)


def demo_model(dataset_file: Path, cache_dir: Path) -> DemoModel:
    """A small CNN trained on the course's Fashion-MNIST (about 20 s once; then cached).

    It is what a student would hand in as ``fashion_model.keras``: the grader's
    checker predicts with it on sampled private test images, and the team's
    upload must agree (:mod:`autograder.leaderboard.points`).
    """
    from utilities.loaders import load_fashion_mnist

    digest = hashlib.sha256(Path(dataset_file).read_bytes()).hexdigest()[:16]
    folder = Path(cache_dir) / f"demo-model-{digest}"
    path, predicted = folder / MODEL_FILE, folder / "predictions.npy"
    if not (path.is_file() and predicted.is_file()):
        data = load_fashion_mnist(dataset_file)
        model = _train(data)
        images = data["X_test"][..., np.newaxis].astype("float32") / np.float32(255)
        classes = np.asarray(model.predict(images, batch_size=512, verbose=0)).argmax(axis=1)
        folder.mkdir(parents=True, exist_ok=True)
        model.save(path)
        np.save(predicted, classes)
    return DemoModel(path, np.load(predicted))


def _train(data: dict):
    import keras
    from keras import layers

    keras.utils.set_random_seed(0)
    model = keras.Sequential(
        [
            keras.Input(shape=(28, 28, 1)),
            layers.Conv2D(16, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Conv2D(32, 3, padding="same", activation="relu"),
            layers.MaxPooling2D(),
            layers.Flatten(),
            layers.Dense(64, activation="relu"),
            layers.Dense(10, activation="softmax"),
        ],
        name="demo_fashion_cnn",
    )
    model.compile(optimizer="adam", loss="sparse_categorical_crossentropy", metrics=["accuracy"])
    images = data["X_train"][..., np.newaxis].astype("float32") / np.float32(255)
    model.fit(images, data["y_train"], batch_size=128, epochs=2, verbose=0)
    return model
