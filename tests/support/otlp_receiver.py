"""An OTLP trace receiver for the tests: decodes what it is sent with the official
opentelemetry-proto package and prints each request as one JSON line (protobuf's JSON mapping) on
stdout.

`otlp_receiver.py [PORT]` serves OTLP/HTTP (POST /v1/traces, protobuf bodies);
`otlp_receiver.py --grpc [PORT]` serves OTLP/gRPC (TraceService/Export) with grpcio. Both listen
on 127.0.0.1 (port 0 unless given) and first print `PORT <n>`. An HTTP body that does not decode
is answered 400 and printed as `BAD <reason>`; other paths get 404."""

import json
import sys
from concurrent import futures
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from google.protobuf.json_format import MessageToDict
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)


def emit(content_type, headers, request):
    record = {
        "content_type": content_type,
        "headers": headers,
        "request": MessageToDict(request),
    }
    print(json.dumps(record), flush=True)


class Handler(BaseHTTPRequestHandler):
    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", "0")))
        if self.path != "/v1/traces":
            self.send_response(404)
            self.end_headers()
            return
        request = ExportTraceServiceRequest()
        try:
            request.ParseFromString(body)
        except Exception as e:  # noqa: BLE001 - any decode failure is the test's finding
            print("BAD " + str(e), flush=True)
            self.send_response(400)
            self.end_headers()
            return
        headers = {k.lower(): v for k, v in self.headers.items()}
        emit(self.headers.get("Content-Type"), headers, request)
        reply = ExportTraceServiceResponse().SerializeToString()
        self.send_response(200)
        self.send_header("Content-Type", "application/x-protobuf")
        self.send_header("Content-Length", str(len(reply)))
        self.end_headers()
        self.wfile.write(reply)

    def log_message(self, *args):
        pass


def serve_http(port):
    server = ThreadingHTTPServer(("127.0.0.1", port), Handler)
    print("PORT %d" % server.server_address[1], flush=True)
    server.serve_forever()


def serve_grpc(port):
    import grpc
    from opentelemetry.proto.collector.trace.v1 import trace_service_pb2_grpc

    class TraceService(trace_service_pb2_grpc.TraceServiceServicer):
        def Export(self, request, context):
            headers = {k.lower(): v for k, v in context.invocation_metadata()}
            emit("application/grpc", headers, request)
            return ExportTraceServiceResponse()

    server = grpc.server(futures.ThreadPoolExecutor(max_workers=4))
    trace_service_pb2_grpc.add_TraceServiceServicer_to_server(TraceService(), server)
    bound = server.add_insecure_port("127.0.0.1:%d" % port)
    server.start()
    print("PORT %d" % bound, flush=True)
    server.wait_for_termination()


def main():
    args = sys.argv[1:]
    grpc_mode = "--grpc" in args
    args = [a for a in args if a != "--grpc"]
    port = int(args[0]) if args else 0
    if grpc_mode:
        serve_grpc(port)
    else:
        serve_http(port)


if __name__ == "__main__":
    main()
