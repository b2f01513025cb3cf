import Foundation
import Testing

/// `neurotop info` names every family, as a new user trying a checkpoint of each would see.
@Suite struct FamilyInfo {
    @Test(arguments: [("gemma", "gemma"), ("gemma2", "gemma2"), ("gemma3", "gemma3"), ("gemma3-multimodal", "gemma3"), ("gpt-neox", "gpt-neox"), ("olmo", "olmo"),
                      ("olmo2", "olmo2"), ("phi3", "phi3"), ("gptj", "gptj"), ("falcon", "falcon"), ("falcon-new", "falcon"), ("falcon-alibi", "falcon"),
                      ("mpt", "mpt"), ("opt", "opt"), ("opt-350m", "opt")])
    func infoNamesTheFamily(_ fixture: String, _ family: String) throws {
        let result = try Neurotop.run(["info", Neurotop.fixture("checkpoints/\(fixture)"), "--json"])
        #expect(result.status == 0, "\(result.stderr)")
        let json = try #require(JSONSerialization.jsonObject(with: Data(result.stdout.utf8)) as? [String: Any])
        #expect(json["family"] as? String == family)
    }
}
