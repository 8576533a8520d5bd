"""Two trivial lightweight components in a pipeline, for testing how a local run is reported (kfp needs them in a
file)."""

from kfp import dsl


@dsl.component(base_image="python:3.11", install_kfp_package=False)
def shout(word: str) -> str:
    """Print a lot, as a real stage's executor does, and return the word louder."""
    for k in range(50):
        print(f"noise line {k} of {word}")
    return word.upper()


@dsl.pipeline(name="tiny")
def tiny_pipeline(word: str = "trash") -> str:
    first = shout(word=word)
    return shout(word=first.output).output
