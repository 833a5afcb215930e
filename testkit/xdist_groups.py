"""``--dist loadgroup`` for pytest 9.2: the tests of one ``xdist_group`` go to one worker.

pytest-xdist 3.8 marks a grouped test by appending "@group" to its id on the worker, and its
scheduler sends every test of a group to the same worker. It writes that id to
``item._nodeid``, which pytest 9.2 no longer reads (the id is ``item._id`` now), so every group
was silently spread over all workers: the stack trials meant to run one at a time ran side by
side. This plugin names the groups as xdist would; drop it once xdist does so itself."""

from __future__ import annotations

import pytest
from _pytest.nodeid import NodeId


@pytest.hookimpl(trylast=True)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    if not config.getoption("loadgroup", default=False):
        return
    for item in items:
        names = {
            str(mark.args[0] if mark.args else mark.kwargs.get("name", "default"))
            for mark in item.iter_markers("xdist_group")
        }
        if names and "@" not in item.nodeid:
            item._id = NodeId.parse(f"{item.nodeid}@{'_'.join(sorted(names))}")
