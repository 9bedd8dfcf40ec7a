import os

from hypothesis import settings

settings.register_profile("ci", max_examples=200, deadline=None)
settings.register_profile("dev", max_examples=60, deadline=None)
settings.load_profile("ci" if os.environ.get("CI") else "dev")


def pytest_terminal_summary(terminalreporter: object) -> None:
    """How many fault points each command has, and how many the harness visited."""
    from faulting import POINTS

    if not POINTS:
        return
    write = terminalreporter.write_line  # type: ignore[attr-defined]
    write("fault points (operations, changing ones; runs that reached their fault / crash point):")
    for name, figures in sorted(POINTS.items()):
        write(
            f"  {name}: {figures.get('points', 0)} operations, {figures.get('changing', 0)} "
            f"changing; visited {figures.get('visited', 0)} faults, "
            f"{figures.get('crash_visited', 0)} crashes"
        )
