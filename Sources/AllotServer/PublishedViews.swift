import AllotViews
import Hummingbird

// The published views (AllotViews) are the answers of the routes: one set of types for the
// CLI's --json and this API, so the two faces cannot drift apart.
extension TenantView: ResponseEncodable {}
extension TenantListView: ResponseEncodable {}
extension CreatedTenantView: ResponseEncodable {}
extension RotatedKeyView: ResponseEncodable {}
extension TokenView: ResponseEncodable {}
extension TokenListView: ResponseEncodable {}
extension DeviceListView: ResponseEncodable {}
extension ImportView: ResponseEncodable {}
extension RevocationView: ResponseEncodable {}
extension EventListView: ResponseEncodable {}
extension AppListView: ResponseEncodable {}
extension BatchView: ResponseEncodable {}
extension PushView: ResponseEncodable {}
extension SyncView: ResponseEncodable {}
extension TakeoverView: ResponseEncodable {}
extension TokenInspectionView: ResponseEncodable {}
extension WebhookListView: ResponseEncodable {}
extension CreatedWebhookView: ResponseEncodable {}
extension RemovedWebhookView: ResponseEncodable {}
extension QueueView: ResponseEncodable {}
extension QueueCancelView: ResponseEncodable {}
extension UserListView: ResponseEncodable {}
extension UserDetailView: ResponseEncodable {}
extension UserRetirementView: ResponseEncodable {}
extension UserBatchView: ResponseEncodable {}
extension SubscriptionListView: ResponseEncodable {}
extension SubscriptionManagementView: ResponseEncodable {}
