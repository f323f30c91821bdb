"""dead-letters (Knative only): the triggers' dead-letter sink, see prichal.entrypoints.dead_letter_sink."""

from prichal.entrypoints.dead_letter_sink import app

handle = app.openfaas_handler
main = app.functions_framework_target
