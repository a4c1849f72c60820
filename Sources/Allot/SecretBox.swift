import Crypto
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Encrypts token files at rest with AES-GCM. The key comes from `ALLOT_SECRET_KEY` (32 bytes
/// in Base64) or from a key file beside the database, created with mode 0600 on first use.
/// Secrets never leave this type except to be sent to Apple.
public struct SecretBox: Sendable {
    /// Kept as bytes: SymmetricKey is not Sendable, and the box crosses actors.
    private let keyBytes: Data
    private var key: SymmetricKey { SymmetricKey(data: keyBytes) }

    public static let environmentVariable = "ALLOT_SECRET_KEY"

    public init(key: SymmetricKey) { keyBytes = key.withUnsafeBytes { Data($0) } }

    /// The key for the database at `databasePath`: `ALLOT_SECRET_KEY`, else `keyFile` (the
    /// `--key-file` option), else the key file beside a SQLite database. A PostgreSQL ledger
    /// has no folder to keep one in, so it needs one of the first two.
    public static func load(databasePath: String, keyFile: String? = nil,
                            environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SecretBox {
        if let text = environment[environmentVariable], !text.isEmpty {
            guard let bytes = Data(base64Encoded: text), bytes.count == 32 else {
                throw AllotErrorBridge.invalid("\(environmentVariable) must be 32 random bytes in Base64 (make one with `openssl rand -base64 32`)")
            }
            return SecretBox(key: SymmetricKey(data: bytes))
        }
        if let keyFile { return try load(keyFile: keyFile) }
        if LedgerLocation.isPostgresURL(databasePath) {
            throw AllotErrorBridge.invalid("a PostgreSQL ledger keeps no key file beside it: set \(environmentVariable) (32 random bytes in Base64, from `openssl rand -base64 32`) or name a key file with --key-file, the same key on every node")
        }
        let keyPath = databasePath + ".key"
        if let existing = FileManager.default.contents(atPath: keyPath) {
            guard existing.count == 32 else {
                throw AllotErrorBridge.invalid("the key file \(keyPath) is damaged (it must hold 32 bytes); restore it from a backup")
            }
            return SecretBox(key: SymmetricKey(data: existing))
        }
        let key = SymmetricKey(size: .bits256)
        try key.withUnsafeBytes { bytes in
            // O_EXCL: two processes starting at once must not both write a key.
            let descriptor = Glibc.open(keyPath, O_WRONLY | O_CREAT | O_EXCL, 0o600)
            guard descriptor >= 0 else {
                throw AllotErrorBridge.invalid("cannot create the key file \(keyPath) (errno \(errno)); check the folder's permissions or set \(environmentVariable)")
            }
            defer { close(descriptor) }
            guard write(descriptor, bytes.baseAddress, bytes.count) == bytes.count, fsync(descriptor) == 0 else {
                throw AllotErrorBridge.invalid("cannot write the key file \(keyPath) (errno \(errno))")
            }
        }
        return SecretBox(key: key)
    }

    /// A key file named by `--key-file`: 32 bytes, raw (as allot writes beside a SQLite
    /// database) or in Base64 (as `openssl rand -base64 32 > FILE` writes).
    static func load(keyFile: String) throws -> SecretBox {
        guard let contents = FileManager.default.contents(atPath: keyFile) else {
            throw AllotErrorBridge.invalid("cannot read the key file \(keyFile); check --key-file, or set \(environmentVariable)")
        }
        if contents.count == 32 { return SecretBox(key: SymmetricKey(data: contents)) }
        let text = String(decoding: contents, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        guard let bytes = Data(base64Encoded: text), bytes.count == 32 else {
            throw AllotErrorBridge.invalid("the key file \(keyFile) must hold 32 bytes, raw or in Base64 (make one with `openssl rand -base64 32`)")
        }
        return SecretBox(key: SymmetricKey(data: bytes))
    }

    /// What the ledger keeps to recognise this key (`Ledger.keyCheckValue`): an HMAC-SHA256 of
    /// a fixed label under the key, in hex. It tells two keys apart and gives neither back.
    public var checkValue: String {
        let code = HMAC<SHA256>.authenticationCode(for: Data(Self.checkLabel.utf8), using: key)
        return code.map { String(format: "%02x", $0) }.joined()
    }

    /// The label under which `checkValue` is computed; changing it would orphan every ledger's check.
    static let checkLabel = "allot token key check, version 1"

    /// Where the key comes from, for a sentence that tells an operator which one to fix.
    public static func source(databasePath: String, keyFile: String?,
                              environment: [String: String] = ProcessInfo.processInfo.environment) -> String {
        if let text = environment[environmentVariable], !text.isEmpty { return environmentVariable }
        if let keyFile { return "the key file named by --key-file (\(keyFile))" }
        return "the key file \(databasePath).key"
    }

    /// The key if one is given or already kept beside a SQLite ledger; nil where `load` would
    /// create a new key file (a new ledger, or one whose key file is not there).
    public static func loadExisting(databasePath: String, keyFile: String? = nil,
                                    environment: [String: String] = ProcessInfo.processInfo.environment) throws -> SecretBox? {
        let given = (environment[environmentVariable].map { !$0.isEmpty } ?? false) || keyFile != nil
        guard given || LedgerLocation.isPostgresURL(databasePath) || FileManager.default.fileExists(atPath: databasePath + ".key") else {
            return nil
        }
        return try load(databasePath: databasePath, keyFile: keyFile, environment: environment)
    }

    public func seal(_ secret: String) throws -> [UInt8] {
        Array(try AES.GCM.seal(Data(secret.utf8), using: key).combined!)
    }

    public func open(_ sealed: [UInt8]) throws -> String {
        do {
            let box = try AES.GCM.SealedBox(combined: Data(sealed))
            return String(decoding: try AES.GCM.open(box, using: key), as: UTF8.self)
        } catch {
            throw AllotErrorBridge.invalid("a stored token cannot be decrypted: the secret key is not the one it was stored with (check \(Self.environmentVariable) or the .key file beside the database)")
        }
    }
}

import AllotCore
import AllotStore
enum AllotErrorBridge {
    static func invalid(_ message: String) -> AllotError { AllotError.invalidInput(message) }
}
