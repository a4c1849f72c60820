import HTTPTypes
import Logging
import NIOCore
import NIOHTTPTypes

/// A deadline for every phase of a request, for `allot serve` and `allot sim serve` alike.
/// Without them, thousands of connections that each send a body one byte every 10 s hold a
/// server without any key: the idle timeout covers a connection with no request in progress
/// (idle, or its headers unfinished), not one whose body is being read, nor a handler or a
/// client that stops reading.
///
/// - headers: the idle timeout (`idleConnectionSeconds`), which runs from the connection's
///   start or the last answer until the request's head is complete, however the bytes trickle;
/// - body: at least `bodyBytesPerSecondMin` over every window of `bodyRateWindowSeconds`, and
///   the whole body within `bodySecondsMax`;
/// - handler: the answer's head within `handlerSecondsMax` of the request's end;
/// - response write: the whole answer handed to the socket within `responseWriteSecondsMax`.
///
/// Past any of them the connection is closed: the client gets no answer, which is what a
/// client that stalls has chosen. The body phase ends early when the answer starts first (a
/// 401 before the body was read): the rest of such a body is never waited for.
public struct RequestDeadlines: Sendable, Hashable {
    /// The whole body of one request (a slow link, not a stalled one).
    public var bodySecondsMax: Double
    /// Bytes per second a body must keep up over each window (far below any real client).
    public var bodyBytesPerSecondMin: Int
    /// The window the rate is measured over: a pause shorter than this is not punished.
    public var bodyRateWindowSeconds: Double
    /// From the request's end to the answer's head.
    public var handlerSecondsMax: Double
    /// From the answer's head to its last byte handed to the socket.
    public var responseWriteSecondsMax: Double

    /// Each server passes its own named limits (`ServerLimits` for `allot serve`,
    /// `SimulatorServerLimits` for `allot sim serve`); the rule that enforces them is one.
    public init(bodySecondsMax: Double, bodyBytesPerSecondMin: Int, bodyRateWindowSeconds: Double,
                handlerSecondsMax: Double, responseWriteSecondsMax: Double) {
        precondition(bodySecondsMax > 0, "a body has some time to arrive")
        precondition(bodyRateWindowSeconds > 0, "a rate is measured over some time")
        precondition(handlerSecondsMax > 0, "a handler has some time to answer")
        precondition(responseWriteSecondsMax > 0, "an answer has some time to be written")
        self.bodySecondsMax = bodySecondsMax
        self.bodyBytesPerSecondMin = bodyBytesPerSecondMin
        self.bodyRateWindowSeconds = bodyRateWindowSeconds
        self.handlerSecondsMax = handlerSecondsMax
        self.responseWriteSecondsMax = responseWriteSecondsMax
    }
}

/// Enforces `RequestDeadlines` on one connection. Sits after the HTTP codec, so it sees a
/// request as head, body and end, and the answer likewise; it runs on the channel's event
/// loop, so its state needs no lock.
public final class RequestDeadlineHandler: ChannelDuplexHandler, RemovableChannelHandler {
    public typealias InboundIn = HTTPRequestPart
    public typealias InboundOut = HTTPRequestPart
    public typealias OutboundIn = HTTPResponsePart
    public typealias OutboundOut = HTTPResponsePart

    /// The phase a timer was set for, named in the log line when it fires.
    enum Phase: String {
        case body, bodyRate = "body rate", handler, responseWrite = "response write"
    }

    let deadlines: RequestDeadlines
    let logger: Logger
    private var bodyTotal: Scheduled<Void>?
    private var bodyRate: Scheduled<Void>?
    private var handler: Scheduled<Void>?
    private var responseWrite: Scheduled<Void>?
    /// Body bytes since the current rate window began; nil outside a body.
    private var windowBytes: Int?
    /// A request's head came and its end has not: an answer now leaves a body unread.
    private var requestOpen = false
    /// The server asked the socket for bytes and none came since. False while the handler has
    /// not taken what was read (backpressure holds the reads back): a body is slow only when the
    /// server waits for it, never when the server is the one that is busy.
    private var awaitingClient = false

    public init(deadlines: RequestDeadlines, logger: Logger) {
        self.deadlines = deadlines
        self.logger = logger
    }

    public func read(context: ChannelHandlerContext) {
        awaitingClient = true
        context.read()
    }

    public func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        awaitingClient = false
        switch unwrapInboundIn(data) {
        case .head:
            requestOpen = true
            windowBytes = 0
            bodyTotal = schedule(context, after: deadlines.bodySecondsMax, .body)
            scheduleRateWindow(context)
        case .body(let buffer):
            windowBytes = windowBytes.map { $0 + buffer.readableBytes }
        case .end:
            requestOpen = false
            endBody()
            handler = schedule(context, after: deadlines.handlerSecondsMax, .handler)
        }
        context.fireChannelRead(data)
    }

    public func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(var head) where head.status.kind != .informational:
            // The answer has started: the handler's phase is over, and so is waiting for a body
            // the handler did not read (a 401 before the body). Hummingbird would read such a
            // body to its end to reuse the connection: it is closed after the answer instead,
            // so a refused request cannot go on sending, or trickling, what nobody reads.
            endBody()
            handler?.cancel()
            handler = nil
            responseWrite = schedule(context, after: deadlines.responseWriteSecondsMax, .responseWrite)
            if requestOpen { head.headerFields[.connection] = "close" }
            context.write(wrapOutboundOut(.head(head)), promise: promise)
        case .end:
            let closeAfter = requestOpen
            let written = promise ?? context.eventLoop.makePromise()
            written.futureResult.hop(to: context.eventLoop).assumeIsolatedUnsafeUnchecked().whenComplete { _ in
                self.responseWrite?.cancel()
                self.responseWrite = nil
                if closeAfter { context.close(promise: nil) }
            }
            context.write(data, promise: written)
        default:
            context.write(data, promise: promise)
        }
    }

    public func handlerRemoved(context: ChannelHandlerContext) {
        endBody()
        handler?.cancel()
        responseWrite?.cancel()
    }

    public func channelInactive(context: ChannelHandlerContext) {
        endBody()
        handler?.cancel()
        responseWrite?.cancel()
        context.fireChannelInactive()
    }

    private func endBody() {
        bodyTotal?.cancel()
        bodyRate?.cancel()
        bodyTotal = nil
        bodyRate = nil
        windowBytes = nil
    }

    private func scheduleRateWindow(_ context: ChannelHandlerContext) {
        let window = deadlines.bodyRateWindowSeconds
        bodyRate = context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: .nanoseconds(Int64(window * 1e9))) {
            guard let bytes = self.windowBytes else { return }
            if Double(bytes) < Double(self.deadlines.bodyBytesPerSecondMin) * window, self.awaitingClient {
                self.expire(context, .bodyRate)
            } else {
                self.windowBytes = 0
                self.scheduleRateWindow(context)
            }
        }
    }

    private func schedule(_ context: ChannelHandlerContext, after seconds: Double, _ phase: Phase) -> Scheduled<Void> {
        context.eventLoop.assumeIsolatedUnsafeUnchecked().scheduleTask(in: .nanoseconds(Int64(seconds * 1e9))) {
            self.expire(context, phase)
        }
    }

    private func expire(_ context: ChannelHandlerContext, _ phase: Phase) {
        logger.notice("closing a connection past its \(phase.rawValue) deadline",
                      metadata: ["remote": "\(context.channel.remoteAddress?.ipAddress ?? "-")"])
        endBody()
        handler?.cancel()
        responseWrite?.cancel()
        context.close(promise: nil)
    }
}
