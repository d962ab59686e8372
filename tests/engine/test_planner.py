from tests.engine.engine_harness import X
def test_x():
    assert X == 1
