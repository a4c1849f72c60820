import Foundation
import PackagePlugin

/// Compiles the migrations in `schema/` into the AllotStore module, so the SQL files in the
/// repository are exactly what runs and no second copy can drift from them.
@main
struct EmbedSchema: BuildToolPlugin {
    func createBuildCommands(context: PluginContext, target: Target) async throws -> [Command] {
        let schemaFolder = context.package.directoryURL.appending(path: "schema")
        let migrations = try FileManager.default
            .contentsOfDirectory(at: schemaFolder, includingPropertiesForKeys: nil)
            .filter { $0.pathExtension == "sql" }
            .sorted { $0.lastPathComponent < $1.lastPathComponent }
        let output = context.pluginWorkDirectoryURL.appending(path: "EmbeddedMigrations.swift")
        return [
            .buildCommand(
                displayName: "Embedding \(migrations.count) schema migrations",
                executable: try context.tool(named: "EmbedSchemaTool").url,
                arguments: [output.path] + migrations.map(\.path),
                inputFiles: migrations,
                outputFiles: [output]
            )
        ]
    }
}
