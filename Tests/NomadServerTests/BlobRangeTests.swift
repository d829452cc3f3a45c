import Testing
@testable import NomadServer

/// The `Range` header of `GET /blob/…`: only `bytes=a-b` and `bytes=a-` inside the blob.
struct BlobRangeTests {
    @Test(arguments: [
        ("bytes=0-9", 100, (UInt64(0), UInt64(9))),
        ("bytes=10-", 100, (10, 99)),
        ("bytes=90-500", 100, (90, 99)),
    ] as [(String, UInt64, (UInt64, UInt64))])
    func aRangeInsideTheBlobIsServed(_ text: String, _ size: UInt64, _ expected: (UInt64, UInt64)) {
        let range = BlobRoutes.range(text, size: size)
        #expect(range?.0 == expected.0 && range?.1 == expected.1)
    }

    @Test(arguments: ["bytes=100-", "bytes=5-4", "bytes=-5", "items=0-1", "bytes=0-1,3-4", "bytes=18446744073709551616-",
                      "bytes=" + String(repeating: "9", count: 80) + "-"])
    func anythingElseIsNotSatisfiable(_ text: String) {
        #expect(BlobRoutes.range(text, size: 100) == nil)
    }
}
