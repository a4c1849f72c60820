/// How many Apple calls one allot process keeps in flight at once, over every token. Apple's
/// limit is per token (`maxRequestPerSecond`, 15 a second each), so this bounds allot's own
/// sockets and memory, not Apple's rate: sized for thousands of tokens with a call of ~150 ms
/// (1,000 tokens × 15 calls/s × 0.15 s). The engine's lanes (`EngineSettings`) and the HTTP
/// client's connections (`makeAppleService`) both default to it, so neither caps the other.
public enum AppleCallCapacity {
    public static let callsInFlightDefault = 2_500
}
