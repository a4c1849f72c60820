@testable import AllotServer
import HTTPDeadlines
import HTTPTypes
import Logging
import NIOCore
import NIOEmbedded
import NIOHTTPTypes
import Testing

/// Issue 28.1, the phases a socket test cannot reach without a slow handler or a client that
/// stops reading: the deadline handler on a channel whose clock the test moves.
@Suite(.timeLimit(.minutes(5))) struct RequestDeadlineHandlerTests {
    static let request = HTTPRequest(method: .post, scheme: nil, authority: "127.0.0.1", path: "/v1/tenants")

    func channel(_ configure: (inout RequestDeadlines) -> Void) async throws -> (EmbeddedChannel, EmbeddedEventLoop) {
        var deadlines = RequestDeadlines()
        configure(&deadlines)
        let loop = EmbeddedEventLoop()
        let channel = EmbeddedChannel(handler: RequestDeadlineHandler(deadlines: deadlines, logger: Logger(label: "test") { _ in SwiftLogNoOpLogHandler() }),
                                      loop: loop)
        try await channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 8080)).get()
        return (channel, loop)
    }

    @Test func aHandlerThatDoesNotAnswerInTimeLosesItsConnection() async throws {
        let (channel, loop) = try await channel { $0.handlerSecondsMax = 1 }
        try channel.writeInbound(HTTPRequestPart.head(Self.request))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        loop.advanceTime(by: .milliseconds(900))
        #expect(channel.isActive, "closed before the handler's deadline")
        loop.advanceTime(by: .milliseconds(200))
        #expect(!channel.isActive, "a handler past its deadline keeps the connection")
    }

    @Test func anAnswerTheClientDoesNotTakeInTimeLosesItsConnection() async throws {
        let (channel, loop) = try await channel { $0.responseWriteSecondsMax = 1 }
        try channel.writeInbound(HTTPRequestPart.head(Self.request))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        // The head goes out; the rest never reaches the socket (the client stopped reading).
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        loop.advanceTime(by: .milliseconds(900))
        #expect(channel.isActive)
        loop.advanceTime(by: .milliseconds(200))
        #expect(!channel.isActive, "an answer stuck past its deadline keeps the connection")
    }

    @Test func anAnswerWrittenInTimeKeepsTheConnection() async throws {
        let (channel, loop) = try await channel { $0.responseWriteSecondsMax = 1; $0.handlerSecondsMax = 1 }
        try channel.writeInbound(HTTPRequestPart.head(Self.request))
        try channel.writeInbound(HTTPRequestPart.end(nil))
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .ok)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        loop.advanceTime(by: .seconds(5))
        #expect(channel.isActive, "a finished exchange is left to the idle timeout")
    }

    @Test func aSlowBodyIsJudgedOnlyWhileTheServerWaitsForIt() async throws {
        let (channel, loop) = try await channel { $0.bodyRateWindowSeconds = 1; $0.bodyBytesPerSecondMin = 100; $0.bodySecondsMax = 10 }
        try channel.writeInbound(HTTPRequestPart.head(Self.request))
        // The handler is busy and asks for nothing (backpressure): a quiet client is not at fault.
        loop.advanceTime(by: .milliseconds(1_100))
        #expect(channel.isActive, "closed for a pause the server caused")
        // The server asks for bytes and the client sends 10 in a window that needs 100.
        channel.read()
        try channel.writeInbound(HTTPRequestPart.body(ByteBuffer(string: "0123456789")))
        channel.read()
        loop.advanceTime(by: .milliseconds(1_000))
        #expect(!channel.isActive, "a body below the minimum rate keeps its connection")
    }

    @Test func anAnswerBeforeTheBodyEndsClosesTheConnectionAfterIt() async throws {
        let (channel, _) = try await channel { _ in }
        try channel.writeInbound(HTTPRequestPart.head(Self.request))
        try channel.writeOutbound(HTTPResponsePart.head(HTTPResponse(status: .unauthorized)))
        try channel.writeOutbound(HTTPResponsePart.end(nil))
        guard case .head(let head) = try channel.readOutbound(as: HTTPResponsePart.self) else {
            Issue.record("no answer head")
            return
        }
        #expect(head.headerFields[.connection] == "close")
        #expect(!channel.isActive, "the connection waits for a body nobody reads")
    }
}
