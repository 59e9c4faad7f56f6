"""The ceiling: a bare Starlette endpoint that reads the body and answers 200, nothing else."""

from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route


async def accept(request: Request) -> Response:
    await request.body()
    return Response(status_code=200)


app = Starlette(routes=[Route("/telegram/webhook/", accept, methods=["POST"])])
