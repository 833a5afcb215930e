"""What the tests and the benchmark share to run tocsin for real: free ports, process trees,
``eventually``, the ``tocsin up`` runner, short-window playbooks and the fake Slack.

Not part of the installed product; imported by ``tests/`` and ``bench/`` alike.
"""
