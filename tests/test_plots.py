"""Every plot returns a Figure, draws headless, shows the right numbers and never touches pyplot."""

from __future__ import annotations

import keras
import matplotlib.pyplot as plt
import numpy as np
import pytest
from matplotlib.collections import QuadMesh
from matplotlib.figure import Figure
from sklearn.metrics import confusion_matrix

from utilities import (
    FASHION_MNIST_CLASSES,
    plot_class_distribution,
    plot_confusion_matrix,
    plot_error_matrix,
    plot_feature_maps,
    plot_filters,
    plot_misclassified,
    plot_sample_images,
    plot_training_history,
)

RNG = np.random.default_rng(0)
IMAGES = RNG.integers(0, 256, size=(60, 28, 28), dtype=np.uint8)
Y_TRUE = RNG.integers(0, 10, size=60)
Y_PRED = np.where(RNG.random(60) < 0.6, Y_TRUE, RNG.integers(0, 10, size=60))
HISTORY = {
    "loss": [1.0, 0.6, 0.4],
    "accuracy": [0.6, 0.8, 0.9],
    "macro_f1": [0.5, 0.7, 0.85],
    "val_loss": [0.9, 0.7, 0.8],
    "val_accuracy": [0.62, 0.75, 0.74],
    "val_macro_f1": [0.55, 0.7, 0.69],
}


@pytest.fixture(autouse=True)
def no_pyplot_figures():
    plt.close("all")
    yield
    assert plt.get_fignums() == [], "plots must not register figures with pyplot"


def _renders(fig: Figure, tmp_path) -> None:
    assert isinstance(fig, Figure)
    path = tmp_path / "figure.png"
    fig.savefig(path)
    assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert path.stat().st_size > 5_000


def _heatmap_values(ax) -> np.ndarray:
    mesh = next(c for c in ax.collections if isinstance(c, QuadMesh))
    return np.asarray(mesh.get_array()).reshape(10, 10)


def test_training_history_has_one_panel_per_metric_with_train_and_validation(tmp_path):
    fig = plot_training_history(HISTORY)
    _renders(fig, tmp_path)
    axes = fig.axes
    assert [ax.get_title() for ax in axes] == ["loss", "accuracy", "macro_f1"]
    for ax in axes:
        assert [line.get_label() for line in ax.get_lines()] == ["training", "validation"]
    np.testing.assert_allclose(axes[0].get_lines()[1].get_ydata(), HISTORY["val_loss"])


def test_training_history_accepts_a_keras_history(tmp_path):
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.compile(optimizer="sgd", loss="mse", metrics=["mae"])
    history = model.fit(np.ones((8, 2)), np.ones(8), epochs=2, validation_split=0.25, verbose=0)
    fig = plot_training_history(history)
    _renders(fig, tmp_path)
    assert [ax.get_title() for ax in fig.axes] == ["loss", "mae"]


def test_training_history_without_validation_draws_training_only():
    fig = plot_training_history({"loss": [3, 2, 1]})
    assert [line.get_label() for line in fig.axes[0].get_lines()] == ["training"]


@pytest.mark.parametrize("bad", [{}, [1, 2], None])
def test_training_history_rejects_what_is_not_a_history(bad):
    with pytest.raises(ValueError, match=r"History returned by model\.fit"):
        plot_training_history(bad)


def test_confusion_matrix_shows_counts_and_row_normalised_shares(tmp_path):
    fig = plot_confusion_matrix(Y_TRUE, np.eye(10)[Y_PRED], FASHION_MNIST_CLASSES)
    _renders(fig, tmp_path)
    counts_ax, shares_ax = fig.axes
    expected = confusion_matrix(Y_TRUE, Y_PRED, labels=range(10))
    np.testing.assert_array_equal(_heatmap_values(counts_ax), expected)
    shares = _heatmap_values(shares_ax)
    rows = expected.sum(axis=1) > 0
    np.testing.assert_allclose(shares[rows].sum(axis=1), 1.0)
    assert [t.get_text() for t in counts_ax.get_xticklabels()] == list(FASHION_MNIST_CLASSES)
    assert counts_ax.get_xlabel() == "predicted" and counts_ax.get_ylabel() == "true"


def test_error_matrix_zeroes_the_diagonal_and_keeps_the_mistakes(tmp_path):
    fig = plot_error_matrix(Y_TRUE, Y_PRED, FASHION_MNIST_CLASSES)
    _renders(fig, tmp_path)
    values = _heatmap_values(fig.axes[0])
    expected = confusion_matrix(Y_TRUE, Y_PRED, labels=range(10))
    assert np.all(np.diag(values) == 0)
    off_diagonal = ~np.eye(10, dtype=bool)
    np.testing.assert_array_equal(values[off_diagonal], expected[off_diagonal])


def test_sample_images_grid_is_captioned_with_class_names(tmp_path):
    fig = plot_sample_images(IMAGES[..., None], Y_TRUE, FASHION_MNIST_CLASSES, n=12)
    _renders(fig, tmp_path)
    shown = [ax for ax in fig.axes if ax.images]
    assert len(shown) == 12
    assert {ax.get_title() for ax in shown} <= set(FASHION_MNIST_CLASSES)


def test_sample_images_without_seed_shows_the_first_images_in_order():
    fig = plot_sample_images(IMAGES / 255.0, Y_TRUE, n=5, seed=None)
    shown = [ax for ax in fig.axes if ax.images]
    assert [ax.get_title() for ax in shown] == [str(y) for y in Y_TRUE[:5]]
    np.testing.assert_allclose(shown[0].images[0].get_array(), IMAGES[0] / 255.0)


def test_class_distribution_bars_are_the_counts_per_class(tmp_path):
    fig = plot_class_distribution(Y_TRUE, FASHION_MNIST_CLASSES)
    _renders(fig, tmp_path)
    heights = [patch.get_height() for patch in fig.axes[0].patches]
    assert heights == np.bincount(Y_TRUE, minlength=10).tolist()


def test_class_distribution_compares_several_splits():
    fig = plot_class_distribution({"train": Y_TRUE, "test": Y_PRED}, FASHION_MNIST_CLASSES)
    ax = fig.axes[0]
    assert len(ax.patches) == 20
    assert [t.get_text() for t in ax.get_legend().get_texts()] == ["train (60)", "test (60)"]


def test_misclassified_gallery_says_predicted_and_true(tmp_path):
    fig = plot_misclassified(IMAGES, Y_TRUE, Y_PRED, FASHION_MNIST_CLASSES, n=8)
    _renders(fig, tmp_path)
    wrong = int((Y_TRUE != Y_PRED).sum())
    assert f"{wrong:,} of 60" in fig.get_suptitle()
    captions = [ax.get_title() for ax in fig.axes if ax.images]
    assert len(captions) == min(8, wrong)
    for caption in captions:
        predicted, true = caption.split(",\n")
        assert predicted.removeprefix("predicted ") in FASHION_MNIST_CLASSES
        assert true.removeprefix("true ") in FASHION_MNIST_CLASSES
        assert predicted.removeprefix("predicted ") != true.removeprefix("true ")


def test_misclassified_gallery_caption_for_a_known_mistake():
    fig = plot_misclassified(IMAGES[:2], [6, 4], [4, 4], FASHION_MNIST_CLASSES)
    assert [ax.get_title() for ax in fig.axes if ax.images] == ["predicted Coat,\ntrue Shirt"]


def test_misclassified_gallery_with_no_mistakes_says_so(tmp_path):
    fig = plot_misclassified(IMAGES, Y_TRUE, Y_TRUE)
    _renders(fig, tmp_path)
    assert fig.axes[0].texts[0].get_text() == "No misclassified images"


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda: plot_sample_images(IMAGES[0], Y_TRUE[:1]), r"expected shape \(N, H, W\)"),
        (lambda: plot_sample_images(IMAGES, Y_TRUE[:5]), "images has 60 entries but labels has 5"),
        (lambda: plot_confusion_matrix(Y_TRUE, Y_PRED[:-1]), "y_true has 60 entries but y_pred"),
        (lambda: plot_error_matrix(Y_TRUE, [0.5] * 60), "whole numbers"),
        (lambda: plot_misclassified(IMAGES, Y_TRUE, ["a"] * 60), "expected numbers"),
        (lambda: plot_sample_images(IMAGES, Y_TRUE, n=0), "n=0 and 60 images"),
        (lambda: plot_class_distribution({}), "non-empty dict"),
        (lambda: plot_class_distribution([0, -2, 1]), "must be 0 or more, found -2"),
        (
            lambda: plot_confusion_matrix([0, 1], [0, 10], FASHION_MNIST_CLASSES),
            "y_pred: label 10 has no class name; expected 0..9",
        ),
        (
            lambda: plot_sample_images(IMAGES[:2], [0, 3], ["a", "b"]),
            "labels: label 3 has no class name",
        ),
        (lambda: plot_training_history({"val_loss": [1.0]}), "at least one training metric"),
        (lambda: plot_training_history({"loss": [1.0, None]}), "list of numbers"),
    ],
)
def test_bad_inputs_get_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call()


@pytest.mark.integration
def test_jupyter_draws_a_returned_figure_once_and_an_assigned_one_not_at_all():
    import nbclient
    import nbformat

    cells = [
        "from utilities import plot_class_distribution\nplot_class_distribution([0, 1, 1])",
        "fig = plot_class_distribution([0, 1, 1])",
        "import matplotlib.pyplot as plt\n%matplotlib inline\nplot_class_distribution([0, 1, 1])",
    ]
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(c) for c in cells])
    nbclient.NotebookClient(notebook, timeout=120, kernel_name="python3").execute()
    pictures = [
        sum("image/png" in output.get("data", {}) for output in cell.outputs)
        for cell in notebook.cells
    ]
    assert pictures == [1, 0, 1]


def _grey_cnn(filters: int = 6):
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(filters, 5, padding="same", activation="relu"),
            keras.layers.MaxPooling2D(),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def _images_shown(figure: Figure) -> list[np.ndarray]:
    return [np.asarray(ax.images[0].get_array()) for ax in figure.axes if ax.images]


def test_filters_are_the_first_convolutions_own_weights_one_picture_each():
    model = _grey_cnn(6)
    figure = plot_filters(model)
    kernel = keras.ops.convert_to_numpy(model.layers[0].kernel)
    pictures = _images_shown(figure)
    assert len(pictures) == 6 and pictures[0].shape == (5, 5)
    np.testing.assert_allclose(pictures[2], kernel[:, :, 0, 2], rtol=1e-6)
    assert "6 of 6" in figure.texts[0].get_text()


def test_feature_maps_are_what_the_first_convolution_makes_of_the_image():
    model = _grey_cnn(4)
    image = np.random.default_rng(0).random((28, 28, 1)).astype("float32")
    figure = plot_feature_maps(model, image)
    expected = keras.ops.convert_to_numpy(model.layers[0](image[np.newaxis]))[0]
    pictures = _images_shown(figure)
    assert len(pictures) == 4 and pictures[0].shape == (28, 28)
    np.testing.assert_allclose(pictures[3], expected[..., 3], rtol=1e-5, atol=1e-6)
    assert _images_shown(plot_feature_maps(model, image[..., 0]))[0].shape == (28, 28)


def test_filters_are_found_in_nested_and_subclassed_models():
    class Student(keras.Model):
        def __init__(self):
            super().__init__()
            self.block = keras.Sequential([keras.layers.Conv2D(3, 3), keras.layers.ReLU()])
            self.head = keras.layers.Dense(10, activation="softmax")

        def call(self, x):
            return self.head(keras.ops.mean(self.block(x), axis=(1, 2)))

    model = Student()
    model(np.zeros((1, 28, 28, 1), "float32"))
    assert len(_images_shown(plot_filters(model))) == 3
    assert len(_images_shown(plot_feature_maps(model, np.zeros((28, 28))))) == 3


def test_a_model_without_convolution_or_not_built_gets_a_clear_message():
    dense = keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Flatten()])
    with pytest.raises(ValueError, match="no Conv2D layer found"):
        plot_filters(dense)
    unbuilt = keras.Sequential([keras.layers.Conv2D(2, 3)])
    with pytest.raises(ValueError, match="not built yet"):
        plot_feature_maps(unbuilt, np.zeros((28, 28)))


def _lenet_like():
    return keras.Sequential(
        [
            keras.Input((28, 28, 1)),
            keras.layers.Conv2D(6, 5, padding="same", activation="relu", name="conv1"),
            keras.layers.MaxPooling2D(),
            keras.Sequential([keras.layers.Conv2D(16, 5, activation="relu", name="conv2")]),
            keras.layers.Flatten(),
            keras.layers.Dense(10, activation="softmax"),
        ]
    )


def test_filters_of_any_convolution_by_position_or_name_and_any_input_channel():
    model = _lenet_like()
    kernel = keras.ops.convert_to_numpy(model.get_layer(index=2).layers[0].kernel)
    for layer in (1, -1, "conv2"):
        figure = plot_filters(model, layer=layer, channel=4)
        pictures = _images_shown(figure)
        assert len(pictures) == 16 and pictures[0].shape == (5, 5)
        np.testing.assert_allclose(pictures[7], kernel[:, :, 4, 7], rtol=1e-6)
        assert "conv2, 5×5, input channel 4" in figure.texts[0].get_text()
    assert "First-layer filters" in plot_filters(model).texts[0].get_text()


def test_feature_maps_of_a_later_convolution_are_what_it_makes_of_the_layers_before_it():
    model = _lenet_like()
    image = np.random.default_rng(1).random((28, 28)).astype("float32")
    batch = image[np.newaxis, ..., np.newaxis]
    pooled = model.layers[1](model.layers[0](batch))
    expected = keras.ops.convert_to_numpy(model.layers[2](pooled))[0]
    pictures = _images_shown(plot_feature_maps(model, image, layer="conv2"))
    assert len(pictures) == 16 and pictures[0].shape == (10, 10)
    np.testing.assert_allclose(pictures[5], expected[..., 5], rtol=1e-5, atol=1e-6)


def test_feature_maps_of_a_later_convolution_in_a_functional_model():
    inputs = keras.Input((28, 28, 1))
    first = keras.layers.Conv2D(4, 3, activation="relu")(inputs)
    second = keras.layers.Conv2D(3, 3, name="second")(keras.layers.MaxPooling2D()(first))
    model = keras.Model(inputs, keras.layers.GlobalAveragePooling2D()(second))
    image = np.random.default_rng(2).random((28, 28, 1)).astype("float32")
    expected = keras.ops.convert_to_numpy(keras.Model(inputs, second)(image[np.newaxis]))[0]
    pictures = _images_shown(plot_feature_maps(model, image, layer=1))
    assert len(pictures) == 3 and pictures[0].shape == (11, 11)
    np.testing.assert_allclose(pictures[2], expected[..., 2], rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("call", "message"),
    [
        (lambda model: plot_filters(model, layer=2), r"position 0\.\.1 among the model's 2"),
        (lambda model: plot_filters(model, layer="conv9"), "no Conv2D named 'conv9'"),
        (lambda model: plot_filters(model, layer=1, channel=6), "input channels 0..5, got 6"),
    ],
)
def test_a_convolution_that_is_not_there_gets_a_clear_message(call, message):
    with pytest.raises(ValueError, match=message):
        call(_lenet_like())


@pytest.mark.parametrize(
    "draw",
    [
        lambda: plot_misclassified(IMAGES[:2], [6, 4], [4, 4], FASHION_MNIST_CLASSES, title="Long"),
        lambda: plot_sample_images(IMAGES, Y_TRUE, FASHION_MNIST_CLASSES, n=30),
        lambda: plot_sample_images(IMAGES, Y_TRUE, FASHION_MNIST_CLASSES, n=9),
        lambda: plot_filters(
            keras.Sequential([keras.Input((28, 28, 1)), keras.layers.Conv2D(6, 3)])
        ),
    ],
    ids=["one picture", "thirty", "nine", "six filters"],
)
def test_a_gallery_keeps_every_picture_caption_and_its_title_inside_the_figure_and_apart(draw):
    from matplotlib.backends.backend_agg import FigureCanvasAgg

    fig = draw()
    renderer = FigureCanvasAgg(fig).get_renderer()
    fig.draw(renderer)
    page = fig.bbox
    pictures = [ax for ax in fig.axes if ax.images]
    texts = [fig.get_suptitle() and fig._suptitle.get_window_extent(renderer)]
    texts += [ax.title.get_window_extent(renderer) for ax in pictures]
    boxes = [ax.get_window_extent(renderer) for ax in pictures]
    for box in boxes + texts:
        assert page.x0 <= box.x0 and box.x1 <= page.x1, (box, page)
        assert page.y0 <= box.y0 and box.y1 <= page.y1, (box, page)
    everything = boxes + texts
    for first, box in enumerate(everything):
        for other in everything[first + 1 :]:
            assert not box.overlaps(other), (box, other)
