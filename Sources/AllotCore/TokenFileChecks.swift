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
    /// location. A file for another location is most likely the wrong file (a download of the
    /// wrong location): the advice is to fetch the right one. Removing the token would revoke
    /// every licence it holds, so it is named only as the way to move to another location, with
    /// that cost said.
    public static func renew(token: TokenID, state: TokenState, tokenLocationName: String, tokenLocationUid: String,
                             fileLocationName: String, fileLocationUid: String) throws(AllotError) {
        guard state != .removed else {
            throw AllotError.conflict("token \(token) was removed; add the file as a new token instead")
        }
        guard fileLocationUid == tokenLocationUid else {
            throw AllotError.conflict("this file is for location \(fileLocationName) (\(fileLocationUid)) but token \(token) is for location \(tokenLocationName) (\(tokenLocationUid)), so nothing was renewed; it is most likely the wrong file: download the token of \(tokenLocationName) from Apple Business Manager or Apple School Manager and renew with it (moving to another location means removing token \(token), which gives back every licence it holds, then adding the new file)")
        }
    }
}
