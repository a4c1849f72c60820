/// The refusals of adding and renewing a token file that depend only on what Apple said and
/// what the ledger holds: one place, used by the real add and renew and by their dry runs
/// (`token inspect`, `--dry-run`, `?dryRun=true`), so a dry run says exactly what would happen.
public enum TokenFileChecks {
    /// Adding: a location another server manages is refused unless take-over is asked (two
    /// servers writing one location lose licences). Returns the server taken over from, if any.
    public static func add(locationName: String, locationUid: String, managedBy other: String?, takeover: Bool) throws(AllotError) -> String? {
        guard let other else { return nil }
        guard takeover else {
            throw AllotError(.conflict, "location \(locationName) (\(locationUid)) is managed by \(other); two servers on one location lose licences, so add it with take-over only if \(other) should stop managing it",
                             subject: .locationManagedElsewhere)
        }
        return other
    }

    /// Renewing: a removed token cannot be renewed, and the file must be for the token's own
    /// location (the fix for another location is remove + add).
    public static func renew(token: TokenID, state: TokenState, tokenLocationName: String, tokenLocationUid: String,
                             fileLocationName: String, fileLocationUid: String) throws(AllotError) {
        guard state != .removed else {
            throw AllotError.conflict("token \(token) was removed; add the file as a new token instead")
        }
        guard fileLocationUid == tokenLocationUid else {
            throw AllotError.conflict("the token file is for location \(fileLocationName) (\(fileLocationUid)) but token \(token) is for \(tokenLocationName) (\(tokenLocationUid)): remove token \(token) and add this file instead")
        }
    }
}
