"""Clarity measured from a hypothesis' method against the workspace description (no LLM): methods the embedded model
wrote in stage-1 runs, which it had scored all alike."""

from __future__ import annotations

from copilot.idea.clarity import generic_step, measured_clarity, unspecific, workspace_vocabulary
from copilot.idea.models import Hypothesis

WORKSPACE = """- evaluate.py (899 bytes)
- reference/expected_a.npy (73,856 bytes)
- run.py (601 bytes)
- smooth.py (1,140 bytes)

run.py (first 3 lines):
from smooth import bilateral_filter
def make_image(size: int = 96, seed: int = 0) -> np.ndarray:
    return image

smooth.py (first 2 lines):
def bilateral_filter(image, radius=3, sigma_space=2.0, sigma_range=0.1):
    height, width = image.shape"""


def clarity(method: str, title: str = "A change") -> tuple[int, str]:
    score = measured_clarity(Hypothesis(title=title, problem="p.", rationale="r.", method=method,
                                        supporting_result="s.", refuting_result="f."), WORKSPACE)
    return score.score, score.justification


def test_the_vocabulary_is_what_the_prompt_showed():
    files, names = workspace_vocabulary(WORKSPACE)
    assert {"smooth.py", "run.py", "reference/expected_a.npy", "expected_a.npy"} <= files
    assert names == {"bilateral_filter", "make_image"}


def test_vague_methods_score_low_and_exact_ones_high():
    assert clarity("Modify the bilateral_filter function in smooth.py to use a more efficient algorithm or a "
                   "library that provides such an implementation.") == (
        2, "measured: file smooth.py; code bilateral_filter; no setting values; vague: a library, more efficient")
    assert clarity("smooth.py: replace the nested loops with vectorized operations")[0] == 2
    assert clarity("Improve the model.")[0] == 1
    assert clarity("In smooth.py, build the (2 radius + 1)^2 shifted copies with np.pad(image, radius) and sum the "
                   "weights with broadcasting; radius=3, sigma_space=2.0.") == (
        5, "measured: file smooth.py; code np.pad; settings 2, 1, radius=3, sigma_space=2.0")


def test_a_setting_at_the_end_of_a_sentence_counts_and_a_file_name_is_not_a_setting():
    assert clarity("Set C=10 in train.py.")[1] == "measured: no file; no function or call; settings C=10"
    assert clarity("Use k = 1, 2.")[1].endswith("settings k = 1, 2")
    assert clarity("Never read reference/expected_a.npy.") == (
        2, "measured: file reference/expected_a.npy; no function or call; no setting values")


def test_boilerplate_plan_steps_are_told_from_steps_of_this_experiment():
    """The embedded model's plans for "use vectorized operations in bilateral_filter" (after one real step) and for
    reproducing ViT (a generic pipeline); "model" is a name of that workspace, but "the model" names no code."""
    boilerplate = ["Test the new implementation with the same input parameters",
                   "Compare the results with the original implementation",
                   "Analyze the time taken by the new implementation",
                   "If the time taken is less than 1e-6 of the original implementation, the hypothesis is supported",
                   "If the time taken is less than 1e-6 seconds, accept the hypothesis, otherwise reject it",
                   "Load the dataset", "Read the data files from the workspace",
                   "Evaluate the model on the test data using the accuracy metric", "Save the predictions to a file",
                   "Define the model architecture using PyTorch's Sequential module"]
    specific = ["Replace the nested loops in bilateral_filter with vectorized operations",
                "Pad the image on all sides by the radius", "Run run.py and check output.npy", "Test with radius=5"]
    assert [generic_step(step, WORKSPACE + '\nmodel = 1') for step in boilerplate] == [True] * 10
    assert [generic_step(step, WORKSPACE) for step in specific] == [False] * 4
    assert not generic_step("Save the predictions of `model` with np.save", WORKSPACE + "\nmodel = 1")


def test_a_kind_of_change_is_unspecific_and_a_named_technique_or_setting_is_not():
    """Titles and methods the embedded model wrote on real tasks of the suite."""
    def h(title: str, method: str) -> Hypothesis:
        return Hypothesis(title=title, problem="p.", rationale="r.", method=method, supporting_result="s.",
                          refuting_result="f.")

    assert unspecific(h("Use a different loss function",
                        "Modify the loss function in train.py to use a different loss function."), "- train.py")
    assert unspecific(h("Use a more efficient training procedure", "Use the Adam optimizer in the training procedure."),
                      "- train.py")
    assert not unspecific(h("Increase the learning rate", "Modify the `LEARNING_RATE` variable to 0.1."), "- train.py")
    assert not unspecific(h("Huber loss", "Fit HuberRegressor(epsilon=1.35) in train.py."), "- train.py")
