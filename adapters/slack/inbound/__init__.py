"""What Slack asks of tocsin: button presses and modal submissions (interactions) and the
``/incident`` slash command.

``dispatch`` parses a request whose signature the API has checked, asks ``people`` whether the
person may do it, and routes its action id, form or verb to the module of its domain:
``incidents``, ``statements``, ``reviews`` or ``drills``. Each domain only asks for the change
and replies through ``replies``; the card update, channel lines and pages follow from the
workflows' activities. The actions come in through each domain's protocol (the workflows'
services in production), so this package knows nothing of Temporal.
"""
