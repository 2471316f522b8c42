// Package swarm reads, validates and writes Jami conversation repositories
// ("swarms") byte for byte as jamid 13.7.0 (Debian bookworm, "2023") and
// current upstream do (spec/swarm.md). It is the library behind jami-swarm.
//
// Objects are handled as raw bytes: go-git's object.Commit keeps Jami's
// `signature` header only as an extra header and its EncodeWithoutSignature
// does not strip it, so round-tripping a Jami commit through go-git would
// not give the signed payload (§8.3). go-git is used for storage, refs and
// work trees only.
//
// Layers:
//
//   - Commit objects: ParseCommit (libgit2 commit_parse semantics),
//     Commit.Payload (git_commit_create_buffer), Commit.Sign (RSA PKCS#1
//     v1.5 / SHA-512, header inserted as git_commit_create_with_signature
//     does), ExtractSignature / Signature / VerifyCommit
//     (git_commit_extract_signature), certificate helpers IssuerUID,
//     DeviceID, AccountURI, CheckDeviceChain.
//   - Trees: ParseTree, EncodeTree (canonical order), Files (flattened
//     trees), DiffFiles, Repo.WriteTree.
//   - Messages: EncodeJSON / ParseJSON (jsoncpp 1.9.5 writer and reader,
//     checked against the real library), Message with DecodeMessage and a
//     constructor per type of §3.3 (2023 and current edit forms), FileID,
//     profile.vcf (ParseProfile, EncodeProfile, UpdateProfile).
//   - Reading: Open / Wrap / NewMemory, WalkOrder (libgit2 TOPOLOGICAL|TIME,
//     heap ties included), Log with linearizedParent, MessageMap2023,
//     ConversationID, Mode, InitialMembers, Members, MembersOf, Devices,
//     Fold (current upstream's folded SwarmMessage view).
//   - Validation (§4): Validator, ValidateClone, ValidateFetch, FetchRange,
//     MergeBases; Rules2023 or RulesCurrent, optionally Strict.
//   - Writing: Identity (LoadIdentity), InitConversation and
//     CreateConversation (built in a temporary directory, renamed to the
//     conversation ID), Repo.Append, Send, Reply, Edit, Delete, React,
//     SetProfile, SendFile with StoreFile/DataDir (the bytes kept in
//     conversation_data/<id>/), Invite, Join, Leave, VoteBan, VoteUnban,
//     Merge / MergeFiles; Lock (git's index.lock) for one writer at a time.
//   - Sync (§5): the p2p git dialect over any io.ReadWriter — pkt-lines
//     (PktReader, AppendPkt), Repo.Serve (jamid's GitServer answers, round
//     by round), and the libgit2-style client behind Repo.Pull (fetch,
//     validate in fetch order, fast-forward or merge, all staged in memory
//     so that a rejected pull leaves the repository untouched) and Clone
//     (validated in clone order before anything is written). Received packs
//     are decoded by a bounded reader of our own, not go-git's parser.
package swarm
