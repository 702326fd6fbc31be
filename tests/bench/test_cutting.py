"""The cutting benchmark runs and prints its table."""

from bench import cutting


def test_the_cutting_benchmark_prints_every_style(subset_path, capsys) -> None:
    assert cutting.main(["--data", str(subset_path), "--numbers", "3"]) == 0
    output = capsys.readouterr().out
    for style in cutting.STYLES:
        assert f"| {style} |" in output
    assert "Cutting a 100-digit number" in output
