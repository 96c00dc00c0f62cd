"""The Part 1 zoo (LeNet5 on MNIST): right solutions in many styles, and the mistakes students make.

Every variant states the tests it must fail and the words each message must
contain; every other test must earn its points.
"""

from __future__ import annotations

from autograder.demo.variants import PART1, RELEASED, Variant
from autograder.demo.zoo.lenet_code import (
    ABSENT_CLASS_ZERO_F1,
    BINCOUNT_F1,
    CONFUSION_MATRIX_F1,
    CONV_POOL_RELU,
    EPSILON_F1,
    EYE_PREPROCESSING,
    FUNCTIONAL_LENET5,
    KEYWORD_FIT,
    LOOP_PREPROCESSING,
    MICRO_F1,
    NESTED_LENET5,
    NO_INPUT_LENET5,
    NO_VALIDATION_FIT,
    NUMPY_F1,
    ONE_HOT_ONLY_F1,
    OPS_PREPROCESSING,
    ROUNDED_BATCH_F1,
    SAME_MODEL_EVERY_CALL,
    SEPARATE_ACTIVATIONS,
    SEQUENTIAL_ADD_LENET5,
    STATIC_BATCH_F1,
    SUBCLASSED_LENET5,
    TENSOR_PREPROCESSING,
    UNSCALED,
    VALID_PADDING,
    VALIDATION_SPLIT_FIT,
    compile_call,
    lenet5_source,
)

# --- the Part 1 zoo ----------------------------------------------------------------------------

P1_FAILS_TRAINING = {"test_training_hidden": "history"}

PART1_VARIANTS = [
    Variant("reference-part1", PART1, "the source notebook's own solutions"),
    Variant(
        "keras-ops-student",
        PART1,
        "keras.ops preprocessing converted to numpy, a functional LeNet5, an F1 from the "
        "confusion matrix, compile with the strings 'adam' and 'categorical_crossentropy'",
        cells={
            "preprocess": OPS_PREPROCESSING,
            "lenet5": FUNCTIONAL_LENET5,
            "macro_f1": CONFUSION_MATRIX_F1,
            "compile": compile_call('"categorical_crossentropy"', '"adam"'),
        },
    ),
    Variant(
        "numpy-student",
        PART1,
        "np.eye one-hot, Sequential built with add(), an F1 from per-class precision and recall "
        "counted with bincount, Adam(learning_rate=0.001), the loss function and "
        "CategoricalAccuracy()",
        cells={
            "preprocess": EYE_PREPROCESSING,
            "lenet5": SEQUENTIAL_ADD_LENET5,
            "macro_f1": BINCOUNT_F1,
            "compile": compile_call(
                "keras.losses.categorical_crossentropy",
                "keras.optimizers.Adam(learning_rate=1e-3)",
                "[keras.metrics.CategoricalAccuracy(), macro_f1]",
            ),
        },
    ),
    Variant(
        "separate-activation-layers",
        PART1,
        "Activation('relu'), ReLU() and Softmax() as layers of their own; one-hot rows filled "
        "in a loop, pixels times 1/255, and an F1 with K.epsilon-style smoothing",
        cells={
            "preprocess": LOOP_PREPROCESSING,
            "lenet5": SEPARATE_ACTIVATIONS,
            "macro_f1": EPSILON_F1,
        },
    ),
    Variant(
        "conv-pool-relu",
        PART1,
        "LeNet5 written conv -> pool -> ReLU: the same function, since max and ReLU commute",
        cells={"lenet5": CONV_POOL_RELU},
    ),
    Variant(
        "nested-blocks-lenet5",
        PART1,
        "conv blocks and the classifier as Sequential blocks nested in a Sequential",
        cells={"lenet5": NESTED_LENET5},
    ),
    Variant(
        "loss-as-class-name",
        PART1,
        'loss="CategoricalCrossentropy", the class name as a string, which Keras accepts',
        cells={"compile": compile_call('"CategoricalCrossentropy"')},
    ),
    Variant(
        "acc-string",
        PART1,
        'metrics=["acc", macro_f1]: Keras logs it as "acc"',
        cells={"compile": compile_call(metrics='["acc", macro_f1]')},
    ),
    Variant(
        "tensors-not-arrays",
        PART1,
        "keras.ops preprocessing that returns tensors, not the numpy arrays the task asks for",
        cells={"preprocess": TENSOR_PREPROCESSING},
        fails={
            "test_preprocessing": "ops.convert_to_numpy",
            "test_preprocessing_hidden": "ops.convert_to_numpy",
        },
    ),
    Variant(
        "unscaled-pixels",
        PART1,
        "forgot to divide by 255",
        cells={"preprocess": UNSCALED},
        fails={
            "test_preprocessing": "scaled to [0, 1]",
            "test_preprocessing_hidden": "scaled to [0, 1]",
        },
    ),
    Variant(
        "valid-padding",
        PART1,
        "the first convolution left at padding='valid'",
        cells={"lenet5": VALID_PADDING},
        fails={
            "test_lenet5_parameters": "44,426 trainable parameters",
            "test_lenet5_layers": "output shape (None, 24, 24, 6)",
        },
    ),
    Variant(
        "logits-output",
        PART1,
        "the last Dense layer without softmax",
        cells={"lenet5": lenet5_source(dense_out="None")},
        fails={"test_lenet5_hidden": "('Dense', 'linear')"},
    ),
    Variant(
        "paper-lenet5",
        PART1,
        "the 1998 paper's LeNet5: average pooling and tanh (same parameter count)",
        cells={"lenet5": lenet5_source(conv="tanh", pool="AveragePooling2D")},
        fails={
            "test_lenet5_layers": "type AveragePooling2D, expected MaxPooling2D",
            "test_lenet5_hidden": "('Conv2D', 'tanh')",
        },
    ),
    Variant(
        "same-model-every-call",
        PART1,
        "build_lenet5() returns one global model",
        cells={"lenet5": SAME_MODEL_EVERY_CALL},
        fails={"test_lenet5_hidden": "new model on every call"},
    ),
    Variant(
        "subclassed-lenet5",
        PART1,
        "a subclassed keras.Model, which the notebook says the layer tests cannot read",
        cells={"lenet5": SUBCLASSED_LENET5},
        fails={
            "test_lenet5_parameters": "keras.Sequential or keras.Model(inputs, outputs)",
            "test_lenet5_layers": "keras.Sequential or keras.Model(inputs, outputs)",
            "test_lenet5_hidden": "keras.Sequential or keras.Model(inputs, outputs)",
        },
    ),
    Variant(
        "no-input-lenet5",
        PART1,
        "no keras.Input: Keras builds the model on its first batch, and it computes the same",
        cells={"lenet5": NO_INPUT_LENET5},
    ),
    Variant(
        "numpy-f1",
        PART1,
        "scikit-learn's f1_score on numpy copies: right on arrays, crashes inside model.fit",
        cells={"macro_f1": NUMPY_F1},
        fails={
            "test_f1": "numpy inside a Keras metric",
            "test_f1_hidden": "numpy inside a Keras metric",
            **P1_FAILS_TRAINING,
        },
    ),
    Variant(
        "absent-class-zero",
        PART1,
        "averages over all classes, so a class that never occurs counts as F1 = 0",
        cells={"macro_f1": ABSENT_CLASS_ZERO_F1},
        fails={
            "test_f1": "an absent class counted as F1 = 0",
            "test_f1_hidden": "an absent class counted as F1 = 0",
        },
    ),
    Variant(
        "rounded-batch-f1",
        PART1,
        "the widely copied snippet: rounded probabilities",
        cells={"macro_f1": ROUNDED_BATCH_F1},
        fails={"test_f1": "rounded probabilities", "test_f1_hidden": "class indices"},
    ),
    Variant(
        "micro-f1",
        PART1,
        "true and false positives pooled over all classes (micro F1, the accuracy)",
        cells={"macro_f1": MICRO_F1},
        fails={"test_f1": "micro-averaged", "test_f1_hidden": "micro-averaged"},
    ),
    Variant(
        "one-hot-only-f1",
        PART1,
        "right for one-hot labels, but class indices are argmax-ed as if they were rows",
        cells={"macro_f1": ONE_HOT_ONLY_F1},
        fails={"test_f1_hidden": "class-index"},
    ),
    Variant(
        "static-batch-size-f1",
        PART1,
        "reshapes class indices to y_true.shape[0], which is None inside model.fit",
        cells={"macro_f1": STATIC_BATCH_F1},
        fails={"test_f1_hidden": "batch size is None"},
    ),
    Variant(
        "f1-left-undone",
        PART1,
        "macro_f1 left as the released stub; compiling with it earns nothing either",
        cells={"macro_f1": RELEASED},
        fails={
            "test_f1": "NotImplementedError",
            "test_f1_hidden": "NotImplementedError",
            "test_compile": "still the released stub",
            **P1_FAILS_TRAINING,
        },
    ),
    Variant(
        "from-logits-loss",
        PART1,
        "CategoricalCrossentropy(from_logits=True) on a softmax output",
        cells={"compile": compile_call("keras.losses.CategoricalCrossentropy(from_logits=True)")},
        fails={"test_compile": "from_logits=True"},
    ),
    Variant(
        "no-f1-metric",
        PART1,
        "compiled with accuracy only",
        cells={"compile": compile_call(metrics='["accuracy"]')},
        fails={"test_compile": "your F1 function", "test_training_hidden": "macro_f1"},
    ),
    Variant(
        "equality-accuracy",
        PART1,
        "keras.metrics.Accuracy(), which compares probabilities with one-hot rows for equality",
        cells={"compile": compile_call(metrics="[keras.metrics.Accuracy(), macro_f1]")},
        fails={"test_compile": "include accuracy"},
    ),
    Variant(
        "keyword-fit-with-early-stopping",
        PART1,
        "fit with keyword arguments, shuffle=True and an EarlyStopping callback, verbose=0",
        cells={"training": KEYWORD_FIT},
    ),
    Variant(
        "validation-split-fit",
        PART1,
        "positional batch size and epochs, and Keras's validation_split instead of x_check",
        cells={"training": VALIDATION_SPLIT_FIT},
    ),
    Variant(
        "fit-without-validation",
        PART1,
        "trains without validation data, so the history has no validation curves",
        cells={"training": NO_VALIDATION_FIT},
        fails={"test_training_hidden": "validate on the validation images"},
    ),
    Variant(
        "training-left-undone",
        PART1,
        "the training cell left as the released stub",
        cells={"training": RELEASED},
        fails={"test_training_hidden": "name 'history' is not defined"},
    ),
]
