// SPDX-License-Identifier: Apache-2.0
pragma solidity 0.8.28;

/// @title EvidenceRegistry
/// @notice Write-once register of 32-byte evidence roots (e.g. the SHA-256 of a
///         sealed evidence manifest). Anchoring proves that the root existed no
///         later than the block that recorded it. A root can be anchored only once,
///         so its recorded time can never be moved.
/// @dev One storage slot per root. The owner is fixed at deployment (there is no
///      transfer); it decides which accounts may anchor, but can neither alter nor
///      delete an anchor.
contract EvidenceRegistry {
    /// @dev uint48 holds block times and numbers for millions of years and lets
    ///      the whole record share one slot with the submitter address.
    struct Record {
        uint48 blockTime;
        uint48 blockNumber;
        address submitter;
    }

    /// @notice The account that may authorise and revoke submitters.
    /// @dev Storage, not immutable: immutables are patched into the runtime code,
    ///      and keeping the code on chain byte-identical to the published
    ///      deployedBytecode lets anyone compare the two with `cast code`.
    address public owner;

    /// @notice Whether an account may currently anchor roots.
    mapping(address account => bool) public authorized;

    mapping(bytes32 root => Record) private records;

    /// @notice A root was anchored.
    /// @param root The anchored 32-byte root.
    /// @param submitter The account that sent the anchoring transaction.
    /// @param blockTime The timestamp of the block that includes the anchor.
    /// @param ref Free text from the submitter (e.g. a case or item id). Named `ref`
    ///        because `reference` is a reserved word in Solidity.
    event Anchored(bytes32 indexed root, address indexed submitter, uint256 blockTime, string ref);

    /// @notice An account was allowed to anchor.
    event Authorized(address indexed account);

    /// @notice An account is no longer allowed to anchor.
    event Revoked(address indexed account);

    /// @notice The zero root is not a digest of anything and is reserved for "absent".
    error ZeroRoot();

    /// @notice The root was anchored before; its first anchor stands.
    error AlreadyAnchored(bytes32 root);

    /// @notice The account may not anchor roots.
    error NotAuthorized(address account);

    /// @notice Only the owner may change who is authorised.
    error NotOwner(address account);

    /// @notice The deployer becomes the owner and its first authorised submitter.
    constructor() {
        owner = msg.sender;
        authorized[msg.sender] = true;
        emit Authorized(msg.sender);
    }

    modifier onlyOwner() {
        if (msg.sender != owner) revert NotOwner(msg.sender);
        _;
    }

    /// @notice Record `root` at the current block, once and for all.
    /// @param root The 32-byte digest to anchor; must be non-zero and new.
    /// @param ref Free text stored only in the event log.
    function anchor(bytes32 root, string calldata ref) external {
        if (!authorized[msg.sender]) revert NotAuthorized(msg.sender);
        if (root == bytes32(0)) revert ZeroRoot();
        // The submitter, never the zero address, marks a root as taken.
        if (records[root].submitter != address(0)) revert AlreadyAnchored(root);
        records[root] = Record({
            blockTime: uint48(block.timestamp),
            blockNumber: uint48(block.number),
            submitter: msg.sender
        });
        emit Anchored(root, msg.sender, block.timestamp, ref);
    }

    /// @notice Allow `account` to anchor roots.
    function authorize(address account) external onlyOwner {
        authorized[account] = true;
        emit Authorized(account);
    }

    /// @notice Stop `account` from anchoring further roots; its past anchors stay.
    function revoke(address account) external onlyOwner {
        authorized[account] = false;
        emit Revoked(account);
    }

    /// @notice The timestamp of the block that anchored `root`, or 0 if never anchored.
    function anchoredAt(bytes32 root) external view returns (uint256 blockTime) {
        return records[root].blockTime;
    }

    /// @notice The number of the block that anchored `root`, or 0 if never anchored.
    function anchoredBlock(bytes32 root) external view returns (uint256 blockNumber) {
        return records[root].blockNumber;
    }

    /// @notice The account that anchored `root`, or the zero address if never anchored.
    function submitterOf(bytes32 root) external view returns (address submitter) {
        return records[root].submitter;
    }
}
