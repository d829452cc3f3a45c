import Foundation

/// One live state row: the winning entry for `(entity, key)`.
public struct StateRow: Sendable, Equatable {
    public var entity: String
    public var key: String
    public var entryID: String
    public var origin: OriginID
    public var hlc: HybridTimestamp
    public var op: ChangeOp
    public var body: String

    public init(entity: String, key: String, entryID: String, origin: OriginID, hlc: HybridTimestamp, op: ChangeOp, body: String) {
        self.entity = entity
        self.key = key
        self.entryID = entryID
        self.origin = origin
        self.hlc = hlc
        self.op = op
        self.body = body
    }
}
