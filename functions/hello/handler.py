"""hello: the smallest function on the platform, the floor of the gateway benchmark and a
smoke test of a deployment (no tenant, no database)."""

from pydantic import BaseModel

from prichal.bootstrap import function_app

app = function_app("hello", "Hello", "Answers with a greeting; measures the platform's own overhead.",
                   database=False)


class Greeting(BaseModel):
    message: str


@app.route("GET", "/", tenant=False, response=Greeting)
def hello(request):
    """Say hello."""
    return {"message": "hello from prichal"}


handle = app.openfaas_handler
main = app.functions_framework_target
