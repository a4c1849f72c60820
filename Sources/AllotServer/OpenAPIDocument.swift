import Hummingbird

/// `GET /openapi.yaml`: the document of this API, compiled in from the repository's
/// openapi.yaml (a resource embedded in code), so what is served is what the tests check.
enum OpenAPIDocument {
    static let bytes: [UInt8] = PackageResources.openapi_yaml

    static func response() -> Response {
        var headers = HTTPFields()
        headers[.contentType] = "application/yaml; charset=utf-8"
        return Response(status: .ok, headers: headers, body: .init(byteBuffer: ByteBuffer(bytes: bytes)))
    }
}
