// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ITraceRegistry} from "./interfaces/ITraceRegistry.sol";

/// @title TraceRegistry — farm-to-shelf traceability for infant milk
/// @notice See {ITraceRegistry} for the specification.
/// @dev Gas design (targets in shared/DESIGN.md, measured by bench/gas.py):
///  - A batch's checked state is one slot: holder account, pending addressee's organisation id,
///    producer's organisation id and status. A hand-over or an accept rewrites a slot that
///    already exists, and an accept reads the previous holder's account from that same slot.
///  - An organisation's id and role bits are one slot, so one read is the whole role check.
///    The bits are kept in step with OpenZeppelin AccessControl by `_grantRole`/`_revokeRole`.
///  - The hot paths read those slots as raw words (layouts below) and emit their logs from
///    scratch memory. The two single-record functions whose arguments are a static struct
///    (`recordQuality`, `recordCondition`) check each argument word is canonical ABI and copy
///    it into the log as it stands in calldata.
///  - `submit` decodes the packed records with `calldataload` and shifts, never with checked
///    slice conversions; a record names its batch by a 2-byte index into the call's dictionary.
///    Runs of quality and condition records go through an assembly loop that reads each
///    batch's slot once per run (a memory cache, 32 bytes per dictionary entry).
///  - Fast paths only ever accept: whatever they refuse is handed to plain Solidity code that
///    applies the same checks in the specification's order and reverts with the precise error
///    (`_explainQuality`, `_explainCondition`, `_applyRecord`), so error reporting is never
///    written in assembly.
/// Every check of the single-record functions applies, unchanged, to the same record in `submit`.
contract TraceRegistry is ITraceRegistry, AccessControl {
    // ------------------------------------------------------------------ roles

    /// @inheritdoc ITraceRegistry
    bytes32 public constant PRODUCER_ROLE = keccak256("PRODUCER_ROLE");
    /// @inheritdoc ITraceRegistry
    bytes32 public constant CARRIER_ROLE = keccak256("CARRIER_ROLE");
    /// @inheritdoc ITraceRegistry
    bytes32 public constant LAB_ROLE = keccak256("LAB_ROLE");
    /// @inheritdoc ITraceRegistry
    bytes32 public constant RETAILER_ROLE = keccak256("RETAILER_ROLE");
    /// @inheritdoc ITraceRegistry
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");

    uint256 private constant _PRODUCER = 1;
    uint256 private constant _CARRIER = 2;
    uint256 private constant _LAB = 4;
    uint256 private constant _RETAILER = 8;
    uint256 private constant _REGULATOR = 16;
    uint256 private constant _ALL_ROLES = 31;

    // ------------------------------------------------------------------ word layouts

    // Organisation slot (Solidity's packing of ITraceRegistry.Organisation, low bits first):
    //   id [0, 32) | roles [32, 40) | gln [40, 104) | country [104, 120)
    uint256 private constant _ROLES_SHIFT = 32;

    // Batch slot (the `Batch` struct below, low bits first):
    //   holder account [0, 160) | pending org id [160, 192) | producer org id [192, 224) | status [224, 232)
    uint256 private constant _PENDING_SHIFT = 160;
    uint256 private constant _PRODUCER_SHIFT = 192;
    uint256 private constant _STATUS_SHIFT = 224;
    uint256 private constant _ID_MASK = 0xffffffff;
    uint256 private constant _HOLDER_MASK = 0x00ffffffffffffffffffffffffffffffffffffffff; // 160 bits

    // Packed records of {submit}: kind:uint8 | batchIndex:uint16 | eventId:bytes32 | eventTime:uint40.
    uint256 private constant _HEAD = 40;
    uint256 private constant _QUALITY_BODY = 65;
    uint256 private constant _CONDITION_BODY = 45;
    uint256 private constant _HANDOVER_BODY = 20;
    uint256 private constant _STATUS_BODY = 49;
    uint256 private constant _ANCHOR_BODY = 1;
    uint256 private constant _COMMISSION_FIXED = 42; // body without lot and parents

    // Bit c is set for each byte c allowed in a lot: `- . 0-9 A-Z _ a-z`.
    uint256 private constant _LOT_CHARS = 0x7fffffe87fffffe03ff600000000000;

    // ------------------------------------------------------------------ storage

    /// @dev A batch's checked state, one slot (layout above).
    struct Batch {
        address holder;
        uint32 pending;
        uint32 producer;
        Status status;
    }

    /// @dev The fixed-size fields of a commissioning, decoded from either encoding.
    struct CommissionHead {
        bytes32 batchId;
        bytes32 eventId;
        uint64 gtin;
        uint32 productionDate;
        uint32 expiryDate;
        uint64 quantity;
        bytes8 unit;
        uint64 siteGln;
        uint64 eventTime;
    }

    mapping(address account => Organisation) private _orgs;
    mapping(uint32 orgId => address account) private _accounts;
    mapping(bytes32 batchId => Batch) private _batches;
    uint32 private _orgCount;

    // ------------------------------------------------------------------ constructor

    /// @param admin The consortium admin (an EOA or a multisig).
    constructor(address admin) {
        _grantRole(DEFAULT_ADMIN_ROLE, admin);
    }

    // ------------------------------------------------------------------ organisations

    /// @inheritdoc ITraceRegistry
    function admitOrganisation(address account, string calldata name, uint64 gln, bytes2 country, uint8 roles)
        external
        onlyRole(DEFAULT_ADMIN_ROLE)
    {
        if (account == _msgSender()) revert TraceRegistrySelfGrant(account, DEFAULT_ADMIN_ROLE);
        if (account == address(0) || _orgs[account].id != 0) revert TraceRegistryOrganisationExists(account);
        if (!_validGln(gln)) revert TraceRegistryInvalidGln(gln);
        if (roles & ~_ALL_ROLES != 0) revert TraceRegistryUnknownRole(bytes32(uint256(roles)));
        uint32 id = ++_orgCount;
        _orgs[account] = Organisation({id: id, roles: 0, gln: gln, country: country});
        _accounts[id] = account;
        emit OrganisationAdmitted(account, id, gln, name, country);
        for (uint256 bit = 1; bit <= _REGULATOR; bit <<= 1) {
            if (roles & bit != 0) _grantRole(_roleOf(bit), account);
        }
    }

    /// @notice Grants `role` to `account`; nobody can grant a role to itself.
    /// @dev Requirements: caller has the role's admin role; `account` is not the caller; for
    /// registry roles, `account` is an admitted organisation.
    /// Emits a `RoleGranted` event unless `account` already had the role.
    /// @param role The role.
    /// @param account The account receiving it.
    function grantRole(bytes32 role, address account) public override {
        if (account == _msgSender()) revert TraceRegistrySelfGrant(account, role);
        super.grantRole(role, account);
    }

    /// @inheritdoc ITraceRegistry
    function organisation(address account) external view returns (Organisation memory) {
        return _orgs[account];
    }

    /// @inheritdoc ITraceRegistry
    function organisationAccount(uint32 orgId) external view returns (address) {
        return _accounts[orgId];
    }

    /// @inheritdoc ITraceRegistry
    function organisationCount() external view returns (uint32) {
        return _orgCount;
    }

    // ------------------------------------------------------------------ records, one per call

    /// @inheritdoc ITraceRegistry
    function commission(Commission calldata c) external {
        CommissionHead memory h = CommissionHead({
            batchId: c.batchId,
            eventId: c.eventId,
            gtin: c.gtin,
            productionDate: c.productionDate,
            expiryDate: c.expiryDate,
            quantity: c.quantity,
            unit: c.unit,
            siteGln: c.siteGln,
            eventTime: c.eventTime
        });
        _commission(_orgWord(msg.sender), h, c.lot, c.parents);
    }

    /// @inheritdoc ITraceRegistry
    function handOver(bytes32 batchId, bytes32 eventId, address to, uint64 eventTime) external {
        _handOver(_orgWord(msg.sender), batchId, eventId, to, eventTime);
    }

    /// @inheritdoc ITraceRegistry
    function accept(bytes32 batchId, bytes32 eventId, uint64 eventTime) external {
        _accept(_orgWord(msg.sender), batchId, eventId, eventTime);
    }

    /// @inheritdoc ITraceRegistry
    function cancelHandOver(bytes32 batchId, bytes32 eventId, uint64 eventTime) external {
        _cancelHandOver(_orgWord(msg.sender), batchId, eventId, eventTime);
    }

    /// @inheritdoc ITraceRegistry
    function recordQuality(QualityResult calldata q) external {
        bytes32 topic0 = QualityRecorded.selector;
        assembly {
            // Fast path: the checks of {_explainQuality}, on raw words; on success it logs and
            // stops. The event's data (testCode, passed, value, unit, reportHash, eventTime) is
            // the struct's words 2..7 exactly as they stand in calldata, once each is known to be
            // canonical ABI. (Not "memory-safe": it logs from scratch memory at 0, then stops.)
            mstore(0x00, caller())
            mstore(0x20, _orgs.slot)
            let org := sload(keccak256(0x00, 0x40))
            let batchId := calldataload(q)
            mstore(0x00, batchId)
            mstore(0x20, _batches.slot)
            let b := sload(keccak256(0x00, 0x40))
            let w := add(q, 0x40)
            let value := calldataload(add(w, 0x40))
            let refused := or(
                or(iszero(and(shr(_ROLES_SHIFT, org), _LAB)), iszero(shr(_STATUS_SHIFT, b))), // LAB role; batch exists
                or(
                    or(shl(128, calldataload(w)), shr(1, calldataload(add(w, 0x20)))), // testCode: bytes16, passed: bool
                    or(
                        or(xor(signextend(7, value), value), shl(64, calldataload(add(w, 0x60)))), // value: int64, unit: bytes8
                        shr(64, calldataload(add(w, 0xa0))) // eventTime: uint64
                    )
                )
            )
            if iszero(refused) {
                calldatacopy(0x00, w, 0xc0)
                log4(0x00, 0xc0, topic0, batchId, calldataload(add(q, 0x20)), caller())
                stop()
            }
        }
        _explainQuality(q);
    }

    /// @inheritdoc ITraceRegistry
    function recordCondition(ConditionSummary calldata s) external {
        bytes32 topic0 = ConditionRecorded.selector;
        assembly {
            // Fast path: the checks of {_explainCondition}, on raw words; on success it logs and
            // stops. The event's data (readingsRoot, count, minValue, maxValue, alarm, eventTime)
            // is the struct's words 2..7 exactly as they stand in calldata, once each is known to
            // be canonical ABI. (Not "memory-safe": it logs from scratch memory at 0, then stops.)
            mstore(0x00, caller())
            mstore(0x20, _orgs.slot)
            let org := sload(keccak256(0x00, 0x40))
            let batchId := calldataload(s)
            mstore(0x00, batchId)
            mstore(0x20, _batches.slot)
            let b := sload(keccak256(0x00, 0x40))
            let w := add(s, 0x40)
            let minValue := calldataload(add(w, 0x40))
            let maxValue := calldataload(add(w, 0x60))
            // custodian: the holder, or the pending addressee (by organisation id)
            let custodian := or(
                eq(and(b, _HOLDER_MASK), caller()), eq(and(shr(_PENDING_SHIFT, b), _ID_MASK), and(org, _ID_MASK))
            )
            let refused := or(
                or(iszero(and(shr(_ROLES_SHIFT, org), _ALL_ROLES)), or(iszero(shr(_STATUS_SHIFT, b)), iszero(custodian))),
                or(
                    or(shr(32, calldataload(add(w, 0x20))), xor(signextend(3, minValue), minValue)), // count: uint32, minValue: int32
                    or(
                        or(xor(signextend(3, maxValue), maxValue), shr(1, calldataload(add(w, 0x80)))), // maxValue: int32, alarm: bool
                        shr(64, calldataload(add(w, 0xa0))) // eventTime: uint64
                    )
                )
            )
            if iszero(refused) {
                calldatacopy(0x00, w, 0xc0)
                log4(0x00, 0xc0, topic0, batchId, calldataload(add(s, 0x20)), caller())
                stop()
            }
        }
        _explainCondition(s);
    }

    /// @inheritdoc ITraceRegistry
    function setStatus(bytes32 batchId, bytes32 eventId, Status status, bytes16 reason, bytes32 noticeHash, uint64 eventTime)
        external
    {
        _setStatus(_orgWord(msg.sender), batchId, eventId, uint256(status), reason, noticeHash, eventTime);
    }

    /// @inheritdoc ITraceRegistry
    function anchor(bytes32 batchId, bytes32 eventId, AnchorKind kind, uint64 eventTime) external {
        _anchor(_orgWord(msg.sender), batchId, eventId, kind, eventTime);
    }

    // ------------------------------------------------------------------ records, many per call

    /// @inheritdoc ITraceRegistry
    function submit(bytes calldata records) external {
        uint256 org = _orgWord(msg.sender);
        uint256 start;
        uint256 end;
        assembly ("memory-safe") {
            start := records.offset
            end := add(records.offset, records.length)
        }
        unchecked {
            if (records.length < 2) revert TraceRegistryMalformedRecord(0);
            uint256 batchCount = _load(start, 2);
            uint256 ids = start + 2;
            uint256 p = ids + 32 * batchCount;
            if (p > end) revert TraceRegistryMalformedRecord(0);
            Cursor memory cur = Cursor({start: start, ids: ids, batchCount: batchCount, end: end});
            uint256 fast = _fastArea(batchCount);
            while (p < end) {
                // Runs of quality and condition records (the bulk of an ingest) take the fast
                // path; a record it refuses, and every other kind, goes through _applyRecord,
                // which applies it or reverts with the reason.
                uint256 next = _fastRecords(org, cur, fast, p);
                p = next == p ? _applyRecord(org, cur, p) : next;
            }
        }
    }

    /// @dev Where {submit} reads: `start` of the packed bytes in calldata, its batch-id dictionary
    /// (`batchCount` ids from `ids`) and its `end`.
    struct Cursor {
        uint256 start;
        uint256 ids;
        uint256 batchCount;
        uint256 end;
    }

    // Memory of {_fastRecords} (allocated once per submit, from fresh, zeroed memory):
    //   +0x00 log data (6 words) | +0xc0 QualityRecorded topic | +0xe0 ConditionRecorded topic |
    //   +0x100 generation | +0x120 + 32 × i: cached Batch word of dictionary entry i, tagged
    //   with the generation that read it in its top 24 bits (the Batch word uses 232 bits).
    uint256 private constant _FAST_HEADER = 0x120;

    /// @dev Allocates the fast path's memory for a dictionary of `batchCount` ids.
    function _fastArea(uint256 batchCount) private pure returns (uint256 area) {
        bytes32 qualityTopic = QualityRecorded.selector;
        bytes32 conditionTopic = ConditionRecorded.selector;
        assembly ("memory-safe") {
            area := mload(0x40)
            mstore(0x40, add(area, add(_FAST_HEADER, shl(5, batchCount))))
            mstore(add(area, 0xc0), qualityTopic)
            mstore(add(area, 0xe0), conditionTopic)
        }
    }

    /// @dev Fast path of {submit}: applies the Quality and Condition records from calldata offset
    /// `p` on, for as long as each is well-formed and passes its checks (those of {_applyRecord},
    /// on raw words), and returns the offset of the first record it did not apply: `cur.end`, or
    /// a record of another kind or one that fails a check, which {_applyRecord} then handles.
    /// Quality and Condition records write nothing, so within one call a batch's word is read
    /// from storage once and then from the cache; each call starts a new cache generation,
    /// because the records {_applyRecord} applied in between may have changed batches.
    function _fastRecords(uint256 org, Cursor memory cur, uint256 area, uint256 p) private returns (uint256) {
        uint256 ids = cur.ids;
        uint256 batchCount = cur.batchCount;
        uint256 end = cur.end;
        assembly ("memory-safe") {
            let gen := add(mload(add(area, 0x100)), 1)
            mstore(add(area, 0x100), gen)
            mstore(0x20, _batches.slot)
            for {} lt(p, end) {} {
                // head: kind:uint8 | batchIndex:uint16 | eventId:bytes32 | eventTime:uint40; body from p + 40
                let b
                {
                    let index := and(shr(232, calldataload(p)), 0xffff)
                    if iszero(lt(index, batchCount)) { break }
                    let entry := add(area, add(_FAST_HEADER, shl(5, index)))
                    b := mload(entry)
                    switch eq(shr(232, b), gen)
                    case 1 { b := and(b, 0xffffffffffffffffffffffffffffffffffffffffffffffffffffffffff) } // 232 bits
                    default {
                        mstore(0x00, calldataload(add(ids, shl(5, index))))
                        b := sload(keccak256(0x00, 0x40))
                        mstore(entry, or(shl(232, gen), b))
                    }
                }
                if iszero(shr(_STATUS_SHIFT, b)) { break } // unknown batch
                switch shr(248, calldataload(p))
                case 4 {
                    // Quality (caller has LAB): testCode:bytes16 | passed:uint8 | value:int64 | unit:bytes8 | reportHash:bytes32
                    let w := calldataload(add(p, 40))
                    if or(or(iszero(and(shr(_ROLES_SHIFT, org), _LAB)), gt(add(p, 105), end)), gt(byte(16, w), 1)) { break }
                    mstore(area, shl(128, shr(128, w))) // testCode, left-aligned
                    mstore(add(area, 0x20), byte(16, w)) // passed
                    mstore(add(area, 0x40), signextend(7, shr(192, calldataload(add(p, 57))))) // value
                    mstore(add(area, 0x60), shl(192, shr(192, calldataload(add(p, 65))))) // unit, left-aligned
                    mstore(add(area, 0x80), calldataload(add(p, 73))) // reportHash
                    mstore(add(area, 0xa0), shr(216, calldataload(add(p, 35)))) // eventTime
                    log4(
                        area,
                        0xc0,
                        mload(add(area, 0xc0)),
                        calldataload(add(ids, shl(5, and(shr(232, calldataload(p)), 0xffff)))), // batchId
                        calldataload(add(p, 3)), // eventId
                        caller()
                    )
                    p := add(p, 105) // _HEAD + _QUALITY_BODY
                }
                case 5 {
                    // Condition (caller has a role and is the holder or the pending addressee):
                    // readingsRoot:bytes32 | count:uint32 | minValue:int32 | maxValue:int32 | alarm:uint8
                    if iszero(and(shr(_ROLES_SHIFT, org), _ALL_ROLES)) { break }
                    if iszero(or(eq(and(b, _HOLDER_MASK), caller()), eq(and(shr(_PENDING_SHIFT, b), _ID_MASK), and(org, _ID_MASK)))) {
                        break
                    }
                    let w := calldataload(add(p, 72)) // count | minValue | maxValue | alarm | ...
                    if or(gt(add(p, 85), end), gt(byte(12, w), 1)) { break }
                    mstore(area, calldataload(add(p, 40))) // readingsRoot
                    mstore(add(area, 0x20), shr(224, w)) // count
                    mstore(add(area, 0x40), signextend(3, shr(224, shl(32, w)))) // minValue
                    mstore(add(area, 0x60), signextend(3, shr(224, shl(64, w)))) // maxValue
                    mstore(add(area, 0x80), byte(12, w)) // alarm
                    mstore(add(area, 0xa0), shr(216, calldataload(add(p, 35)))) // eventTime
                    log4(
                        area,
                        0xc0,
                        mload(add(area, 0xe0)),
                        calldataload(add(ids, shl(5, and(shr(232, calldataload(p)), 0xffff)))), // batchId
                        calldataload(add(p, 3)), // eventId
                        caller()
                    )
                    p := add(p, 85) // _HEAD + _CONDITION_BODY
                }
                default { break }
            }
        }
        return p;
    }

    /// @dev Applies the packed record at calldata offset `p`; returns the offset of the next one.
    function _applyRecord(uint256 org, Cursor memory cur, uint256 p) private returns (uint256 next) {
        unchecked {
            uint256 at = p - cur.start; // the record's offset inside `records`, for errors
            if (p + _HEAD > cur.end) revert TraceRegistryMalformedRecord(at);
            uint256 kind;
            bytes32 batchId;
            {
                uint256 head = _load(p, 3); // kind:uint8 | batchIndex:uint16
                kind = head >> 16;
                uint256 index = head & 0xffff;
                if (index >= cur.batchCount) revert TraceRegistryMalformedRecord(at);
                batchId = bytes32(_load(cur.ids + 32 * index, 32));
            }
            uint256 body = p + _HEAD;
            if (kind == uint256(RecordKind.Quality)) {
                next = body + _QUALITY_BODY;
                if (next > cur.end) revert TraceRegistryMalformedRecord(at);
                _packedQuality(org, batchId, p, at);
            } else if (kind == uint256(RecordKind.Condition)) {
                next = body + _CONDITION_BODY;
                if (next > cur.end) revert TraceRegistryMalformedRecord(at);
                _packedCondition(org, batchId, p, at);
            } else if (kind == uint256(RecordKind.HandOver)) {
                next = body + _HANDOVER_BODY;
                if (next > cur.end) revert TraceRegistryMalformedRecord(at);
                _handOver(org, batchId, _eventId(p), address(uint160(_load(body, 20))), _eventTime(p));
            } else if (kind == uint256(RecordKind.Accept)) {
                next = body;
                _accept(org, batchId, _eventId(p), _eventTime(p));
            } else if (kind == uint256(RecordKind.CancelHandOver)) {
                next = body;
                _cancelHandOver(org, batchId, _eventId(p), _eventTime(p));
            } else if (kind == uint256(RecordKind.Status)) {
                next = body + _STATUS_BODY;
                if (next > cur.end) revert TraceRegistryMalformedRecord(at);
                uint256 status = _load(body, 1);
                if (status > uint256(Status.Recalled)) revert TraceRegistryMalformedRecord(at);
                _setStatus(
                    org,
                    batchId,
                    _eventId(p),
                    status,
                    bytes16(bytes32(_load(body + 1, 32))),
                    bytes32(_load(body + 17, 32)),
                    _eventTime(p)
                );
            } else if (kind == uint256(RecordKind.Anchor)) {
                next = body + _ANCHOR_BODY;
                if (next > cur.end) revert TraceRegistryMalformedRecord(at);
                uint256 anchorKind = _load(body, 1);
                if (anchorKind > uint256(AnchorKind.Association)) revert TraceRegistryMalformedRecord(at);
                _anchor(org, batchId, _eventId(p), AnchorKind(anchorKind), _eventTime(p));
            } else if (kind == uint256(RecordKind.Commission)) {
                next = _packedCommission(org, batchId, p, cur.end, at);
            } else {
                revert TraceRegistryMalformedRecord(at);
            }
        }
    }

    /// @dev The eventId of the packed record at `p`.
    function _eventId(uint256 p) private pure returns (bytes32) {
        unchecked {
            return bytes32(_load(p + 3, 32));
        }
    }

    /// @dev The eventTime (uint40) of the packed record at `p`.
    function _eventTime(uint256 p) private pure returns (uint256) {
        unchecked {
            return _load(p + 35, 5);
        }
    }

    /// @dev Packed Quality body: testCode:bytes16 | passed:uint8 | value:int64 | unit:bytes8 | reportHash:bytes32.
    function _packedQuality(uint256 org, bytes32 batchId, uint256 p, uint256 at) private {
        if ((org >> _ROLES_SHIFT) & _LAB == 0) revert TraceRegistryMissingRole(msg.sender, LAB_ROLE);
        if (_batchWord(batchId) >> _STATUS_SHIFT == 0) revert TraceRegistryUnknownBatch(batchId);
        bytes32 topic0 = QualityRecorded.selector;
        uint256 passed;
        assembly ("memory-safe") {
            let body := add(p, _HEAD)
            let m := mload(0x40)
            let w := calldataload(body)
            passed := byte(16, w)
            mstore(m, shl(128, shr(128, w))) // testCode, left-aligned
            mstore(add(m, 0x20), passed)
            mstore(add(m, 0x40), signextend(7, shr(192, calldataload(add(body, 17))))) // value
            mstore(add(m, 0x60), shl(192, shr(192, calldataload(add(body, 25))))) // unit, left-aligned
            mstore(add(m, 0x80), calldataload(add(body, 33))) // reportHash
            mstore(add(m, 0xa0), shr(216, calldataload(add(p, 35)))) // eventTime
            if lt(passed, 2) { log4(m, 0xc0, topic0, batchId, calldataload(add(p, 3)), caller()) }
        }
        if (passed > 1) revert TraceRegistryMalformedRecord(at);
    }

    /// @dev Packed Condition body: readingsRoot:bytes32 | count:uint32 | minValue:int32 | maxValue:int32 | alarm:uint8.
    function _packedCondition(uint256 org, bytes32 batchId, uint256 p, uint256 at) private {
        _requireCustodian(org, batchId, _batchWord(batchId));
        bytes32 topic0 = ConditionRecorded.selector;
        uint256 alarm;
        assembly ("memory-safe") {
            let body := add(p, _HEAD)
            let m := mload(0x40)
            let w := calldataload(add(body, 32)) // count | minValue | maxValue | alarm | ...
            alarm := byte(12, w)
            mstore(m, calldataload(body)) // readingsRoot
            mstore(add(m, 0x20), shr(224, w)) // count
            mstore(add(m, 0x40), signextend(3, shr(224, shl(32, w)))) // minValue
            mstore(add(m, 0x60), signextend(3, shr(224, shl(64, w)))) // maxValue
            mstore(add(m, 0x80), alarm)
            mstore(add(m, 0xa0), shr(216, calldataload(add(p, 35)))) // eventTime
            if lt(alarm, 2) { log4(m, 0xc0, topic0, batchId, calldataload(add(p, 3)), caller()) }
        }
        if (alarm > 1) revert TraceRegistryMalformedRecord(at);
    }

    /// @dev Packed Commission body: gtin:uint64 | productionDate:uint32 | expiryDate:uint32 |
    /// quantity:uint64 | unit:bytes8 | siteGln:uint64 | lotLength:uint8 | lot | parentCount:uint8 |
    /// parents:bytes32[parentCount]. Returns the offset after the record.
    function _packedCommission(uint256 org, bytes32 batchId, uint256 p, uint256 end, uint256 at)
        private
        returns (uint256 next)
    {
        unchecked {
            uint256 body = p + _HEAD;
            if (body + _COMMISSION_FIXED > end) revert TraceRegistryMalformedRecord(at);
            uint256 lotLength = _load(body + 40, 1);
            if (body + _COMMISSION_FIXED + lotLength > end) revert TraceRegistryMalformedRecord(at);
            uint256 parentCount = _load(body + 41 + lotLength, 1);
            next = body + _COMMISSION_FIXED + lotLength + 32 * parentCount;
            if (next > end) revert TraceRegistryMalformedRecord(at);
            CommissionHead memory h = CommissionHead({
                batchId: batchId,
                eventId: _eventId(p),
                gtin: uint64(_load(body, 8)),
                productionDate: uint32(_load(body + 8, 4)),
                expiryDate: uint32(_load(body + 12, 4)),
                quantity: uint64(_load(body + 16, 8)),
                unit: bytes8(uint64(_load(body + 24, 8))),
                siteGln: uint64(_load(body + 32, 8)),
                eventTime: uint64(_eventTime(p))
            });
            string calldata lot;
            bytes32[] calldata parents;
            assembly ("memory-safe") {
                lot.offset := add(body, 41)
                lot.length := lotLength
                parents.offset := add(body, add(42, lotLength))
                parents.length := parentCount
            }
            _commission(org, h, lot, parents);
        }
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ITraceRegistry
    function batchState(bytes32 batchId) external view returns (BatchView memory) {
        Batch memory b = _batches[batchId];
        return BatchView({
            holder: b.holder,
            pending: _accounts[b.pending],
            producer: _accounts[b.producer],
            status: b.status
        });
    }

    /// @inheritdoc ITraceRegistry
    function holderOf(bytes32 batchId) external view returns (address) {
        return _batches[batchId].holder;
    }

    /// @inheritdoc ITraceRegistry
    function statusOf(bytes32 batchId) external view returns (Status) {
        return _batches[batchId].status;
    }

    /// @inheritdoc ITraceRegistry
    function statusesOf(bytes32[] calldata batchIds) external view returns (Status[] memory statuses) {
        statuses = new Status[](batchIds.length);
        for (uint256 i; i < batchIds.length; ++i) {
            statuses[i] = _batches[batchIds[i]].status;
        }
    }

    /// @inheritdoc ITraceRegistry
    function batchIdOf(uint64 gtin, string calldata lot) external pure returns (bytes32) {
        return _batchIdOf(gtin, lot);
    }

    // ------------------------------------------------------------------ internal: records

    function _commission(uint256 org, CommissionHead memory h, string calldata lot, bytes32[] calldata parents)
        private
    {
        if ((org >> _ROLES_SHIFT) & _PRODUCER == 0) revert TraceRegistryMissingRole(msg.sender, PRODUCER_ROLE);
        bytes32 expected = _batchIdOf(h.gtin, lot);
        if (h.batchId != expected) revert TraceRegistryBatchIdMismatch(h.batchId, expected);
        if (h.expiryDate <= h.productionDate) revert TraceRegistryInvalidDates(h.productionDate, h.expiryDate);
        uint256 slot = _batchSlot(h.batchId);
        if (_sload(slot) != 0) revert TraceRegistryBatchExists(h.batchId);
        for (uint256 i; i < parents.length; ++i) {
            uint256 status = _batchWord(parents[i]) >> _STATUS_SHIFT;
            if (status == uint256(Status.Unknown)) revert TraceRegistryUnknownBatch(parents[i]);
            if (status == uint256(Status.Recalled)) revert TraceRegistryBatchRecalled(parents[i]);
        }
        // holder: the producer; no pending hand-over; producer: its organisation; Active.
        _sstore(
            slot,
            uint256(uint160(msg.sender)) | ((org & _ID_MASK) << _PRODUCER_SHIFT)
                | (uint256(Status.Active) << _STATUS_SHIFT)
        );
        _emitCommissioned(h, lot, parents);
        for (uint256 i; i < parents.length; ++i) {
            emit BatchDerived(parents[i], h.eventId, h.batchId);
        }
    }

    /// @dev Emits {BatchCommissioned}, ABI-encoding its data from `h` and the calldata lot and parents.
    function _emitCommissioned(CommissionHead memory h, string calldata lot, bytes32[] calldata parents) private {
        bytes32 topic0 = BatchCommissioned.selector;
        assembly ("memory-safe") {
            let m := mload(0x40)
            let lotPadded := and(add(lot.length, 31), not(31))
            // head: gtin, lot offset, productionDate, expiryDate, quantity, unit, siteGln,
            // parents offset, eventTime (h's fields, already clean words in memory)
            mstore(m, mload(add(h, 0x40)))
            mstore(add(m, 0x20), 0x120)
            mstore(add(m, 0x40), mload(add(h, 0x60)))
            mstore(add(m, 0x60), mload(add(h, 0x80)))
            mstore(add(m, 0x80), mload(add(h, 0xa0)))
            mstore(add(m, 0xa0), mload(add(h, 0xc0)))
            mstore(add(m, 0xc0), mload(add(h, 0xe0)))
            mstore(add(m, 0xe0), add(0x140, lotPadded))
            mstore(add(m, 0x100), mload(add(h, 0x100)))
            // tail: lot (length, bytes zero-padded to a word), parents (length, words)
            mstore(add(m, 0x120), lot.length)
            mstore(add(m, add(0x120, lotPadded)), 0)
            calldatacopy(add(m, 0x140), lot.offset, lot.length)
            let p := add(m, add(0x140, lotPadded))
            mstore(p, parents.length)
            calldatacopy(add(p, 0x20), parents.offset, shl(5, parents.length))
            log4(m, sub(add(p, add(0x20, shl(5, parents.length))), m), topic0, mload(h), mload(add(h, 0x20)), caller())
        }
    }

    function _handOver(uint256 org, bytes32 batchId, bytes32 eventId, address to, uint256 eventTime) private {
        if ((org >> _ROLES_SHIFT) & _ALL_ROLES == 0) revert TraceRegistryNoRole(msg.sender);
        uint256 slot = _batchSlot(batchId);
        uint256 b = _sload(slot);
        if (b >> _STATUS_SHIFT == 0) revert TraceRegistryUnknownBatch(batchId);
        if (address(uint160(b)) != msg.sender) revert TraceRegistryNotHolder(batchId, msg.sender);
        uint256 pending = (b >> _PENDING_SHIFT) & _ID_MASK;
        if (pending != 0) revert TraceRegistryHandOverPending(batchId, _accounts[uint32(pending)]);
        uint256 dest = _orgWord(to);
        if (dest & _ID_MASK == 0 || (dest >> _ROLES_SHIFT) & _ALL_ROLES == 0) revert TraceRegistryUnknownOrganisation(to);
        if (to == msg.sender) revert TraceRegistrySelfHandOver(batchId, to);
        _sstore(slot, b | ((dest & _ID_MASK) << _PENDING_SHIFT));
        _logTwoWords(CustodyHandedOver.selector, batchId, eventId, uint256(uint160(to)), eventTime);
    }

    function _accept(uint256 org, bytes32 batchId, bytes32 eventId, uint256 eventTime) private {
        if ((org >> _ROLES_SHIFT) & _ALL_ROLES == 0) revert TraceRegistryNoRole(msg.sender);
        uint256 slot = _batchSlot(batchId);
        uint256 b = _sload(slot);
        if (b >> _STATUS_SHIFT == 0) revert TraceRegistryUnknownBatch(batchId);
        uint256 pending = (b >> _PENDING_SHIFT) & _ID_MASK;
        if (pending == 0) revert TraceRegistryNoHandOver(batchId);
        if (pending != org & _ID_MASK) revert TraceRegistryNotAddressee(batchId, msg.sender);
        // holder: the caller; pending: none; producer and status unchanged.
        _sstore(slot, ((b >> _PRODUCER_SHIFT) << _PRODUCER_SHIFT) | uint256(uint160(msg.sender)));
        _logTwoWords(CustodyAccepted.selector, batchId, eventId, b & _HOLDER_MASK, eventTime);
    }

    function _cancelHandOver(uint256 org, bytes32 batchId, bytes32 eventId, uint256 eventTime) private {
        if ((org >> _ROLES_SHIFT) & _ALL_ROLES == 0) revert TraceRegistryNoRole(msg.sender);
        uint256 slot = _batchSlot(batchId);
        uint256 b = _sload(slot);
        if (b >> _STATUS_SHIFT == 0) revert TraceRegistryUnknownBatch(batchId);
        if (address(uint160(b)) != msg.sender) revert TraceRegistryNotHolder(batchId, msg.sender);
        uint256 pending = (b >> _PENDING_SHIFT) & _ID_MASK;
        if (pending == 0) revert TraceRegistryNoHandOver(batchId);
        _sstore(slot, b & ~(_ID_MASK << _PENDING_SHIFT));
        _logTwoWords(
            CustodyHandOverCancelled.selector, batchId, eventId, uint256(uint160(_accounts[uint32(pending)])), eventTime
        );
    }

    function _setStatus(
        uint256 org,
        bytes32 batchId,
        bytes32 eventId,
        uint256 status,
        bytes16 reason,
        bytes32 noticeHash,
        uint256 eventTime
    ) private {
        uint256 slot = _batchSlot(batchId);
        uint256 b = _sload(slot);
        uint256 current = b >> _STATUS_SHIFT;
        if (current == 0) revert TraceRegistryUnknownBatch(batchId);
        uint256 roles = (org >> _ROLES_SHIFT) & _ALL_ROLES;
        bool isProducer = org & _ID_MASK == (b >> _PRODUCER_SHIFT) & _ID_MASK && roles & _PRODUCER != 0;
        if (!isProducer && roles & _REGULATOR == 0) revert TraceRegistryNotStatusAuthority(batchId, msg.sender);
        if (current == uint256(Status.Recalled) || status < uint256(Status.Quarantined)) {
            revert TraceRegistryInvalidStatus(batchId, Status(current), Status(status));
        }
        _sstore(slot, (b & ~(uint256(0xff) << _STATUS_SHIFT)) | (status << _STATUS_SHIFT));
        emit BatchStatusChanged(batchId, eventId, msg.sender, Status(status), reason, noticeHash, uint64(eventTime));
    }

    function _anchor(uint256 org, bytes32 batchId, bytes32 eventId, AnchorKind kind, uint256 eventTime) private {
        if ((org >> _ROLES_SHIFT) & _ALL_ROLES == 0) revert TraceRegistryNoRole(msg.sender);
        if (_batchWord(batchId) >> _STATUS_SHIFT == 0) revert TraceRegistryUnknownBatch(batchId);
        _logTwoWords(EventAnchored.selector, batchId, eventId, uint256(kind), eventTime);
    }

    // ------------------------------------------------------------------ internal: checks

    /// @dev The caller has a role and holds the batch (word `b`) or is its pending addressee.
    function _requireCustodian(uint256 org, bytes32 batchId, uint256 b) private view {
        if ((org >> _ROLES_SHIFT) & _ALL_ROLES == 0) revert TraceRegistryNoRole(msg.sender);
        if (b >> _STATUS_SHIFT == 0) revert TraceRegistryUnknownBatch(batchId);
        if (address(uint160(b)) != msg.sender && (b >> _PENDING_SHIFT) & _ID_MASK != org & _ID_MASK) {
            revert TraceRegistryNotHolder(batchId, msg.sender);
        }
    }

    /// @dev Reverts with the first reason {recordQuality}'s fast path refused `q`, in the order of
    /// the specification: role, batch, then each argument word's encoding.
    function _explainQuality(QualityResult calldata q) private view {
        if ((_orgWord(msg.sender) >> _ROLES_SHIFT) & _LAB == 0) revert TraceRegistryMissingRole(msg.sender, LAB_ROLE);
        if (_batchWord(q.batchId) >> _STATUS_SHIFT == 0) revert TraceRegistryUnknownBatch(q.batchId);
        uint256 w;
        assembly ("memory-safe") {
            w := add(q, 0x40)
        }
        _requireBytesN(w, 16); // testCode
        _requireUint(w + 0x20, 1); // passed (bool: 0 or 1)
        _requireInt(w + 0x40, 8); // value
        _requireBytesN(w + 0x60, 8); // unit
        _requireUint(w + 0xa0, 64); // eventTime
        assert(false); // the fast path refuses nothing else
    }

    /// @dev Reverts with the first reason {recordCondition}'s fast path refused `s`.
    function _explainCondition(ConditionSummary calldata s) private view {
        _requireCustodian(_orgWord(msg.sender), s.batchId, _batchWord(s.batchId));
        uint256 w;
        assembly ("memory-safe") {
            w := add(s, 0x40)
        }
        _requireUint(w + 0x20, 32); // count
        _requireInt(w + 0x40, 4); // minValue
        _requireInt(w + 0x60, 4); // maxValue
        _requireUint(w + 0x80, 1); // alarm (bool: 0 or 1)
        _requireUint(w + 0xa0, 64); // eventTime
        assert(false); // the fast path refuses nothing else
    }

    /// @dev The calldata word at `at` is a canonical bytesN: its low 32 - n bytes are zero.
    function _requireBytesN(uint256 at, uint256 n) private pure {
        if (_word(at) << (8 * n) != 0) revert TraceRegistryMalformedRecord(at);
    }

    /// @dev The calldata word at `at` is a canonical uint of `bits` bits.
    function _requireUint(uint256 at, uint256 bits) private pure {
        if (_word(at) >> bits != 0) revert TraceRegistryMalformedRecord(at);
    }

    /// @dev The calldata word at `at` is a canonical intN of `n` bytes (sign-extended).
    function _requireInt(uint256 at, uint256 n) private pure {
        uint256 v = _word(at);
        uint256 extended;
        assembly ("memory-safe") {
            extended := signextend(sub(n, 1), v)
        }
        if (extended != v) revert TraceRegistryMalformedRecord(at);
    }

    /// @dev keccak256 of `/01/{GTIN-14}/10/{lot}`, checking the GTIN check digit and the lot.
    function _batchIdOf(uint256 gtin, string calldata lot) private pure returns (bytes32 id) {
        if (gtin >= 1e14) revert TraceRegistryInvalidGtin(uint64(gtin));
        uint256 n = bytes(lot).length;
        if (n == 0 || n > 20) revert TraceRegistryInvalidLot(lot);
        bool checkOk;
        uint256 lotOk = 1;
        assembly ("memory-safe") {
            // The path at the free memory pointer (not kept): "/01/" d0..d13 "/10/" lot.
            let m := mload(0x40)
            mstore(m, "/01/")
            let check := mod(gtin, 10)
            mstore8(add(m, 17), add(48, check))
            // Digits d12 (at m+16) down to d0 (at m+4), two per turn, and their GS1 weighted
            // sum: weight 3 for d12, d10, ..., d0, weight 1 for d11, ..., d1. The last turn also
            // writes a 0 at m+3, which the "/" after the loop restores.
            let x := div(gtin, 10)
            let sum := 0
            for { let at := add(m, 16) } gt(at, add(m, 3)) { at := sub(at, 2) } {
                let d := mod(x, 10)
                let e := mod(div(x, 10), 10)
                x := div(x, 100)
                mstore8(at, add(48, d))
                mstore8(sub(at, 1), add(48, e))
                sum := add(sum, add(mul(3, d), e))
            }
            mstore8(add(m, 3), 0x2f) // "/"
            checkOk := eq(mod(sub(10, mod(sum, 10)), 10), check)
            mstore(add(m, 18), "/10/")
            calldatacopy(add(m, 22), lot.offset, n)
            // each byte of the lot (at most 20: one word) has its bit set in _LOT_CHARS
            let w := calldataload(lot.offset)
            for { let i := 0 } lt(i, n) { i := add(i, 1) } {
                lotOk := and(lotOk, shr(byte(i, w), _LOT_CHARS))
            }
            lotOk := and(lotOk, 1)
            id := keccak256(m, add(22, n))
        }
        if (!checkOk) revert TraceRegistryInvalidGtin(uint64(gtin));
        if (lotOk == 0) revert TraceRegistryInvalidLot(lot);
    }

    /// @dev A 13-digit GLN with a valid GS1 mod-10 check digit.
    function _validGln(uint64 gln) private pure returns (bool) {
        if (gln < 1e12 || gln >= 1e13) return false;
        uint256 check = gln % 10;
        uint256 x = gln / 10;
        uint256 sum;
        for (uint256 i; i < 12; ++i) {
            // weight 3 for the rightmost data digit, then alternating
            sum += (i % 2 == 0) ? 3 * (x % 10) : x % 10;
            x /= 10;
        }
        return (10 - (sum % 10)) % 10 == check;
    }

    function _roleOf(uint256 bit) private pure returns (bytes32) {
        if (bit == _PRODUCER) return PRODUCER_ROLE;
        if (bit == _CARRIER) return CARRIER_ROLE;
        if (bit == _LAB) return LAB_ROLE;
        if (bit == _RETAILER) return RETAILER_ROLE;
        return REGULATOR_ROLE;
    }

    function _bitOf(bytes32 role) private pure returns (uint8) {
        if (role == PRODUCER_ROLE) return uint8(_PRODUCER);
        if (role == CARRIER_ROLE) return uint8(_CARRIER);
        if (role == LAB_ROLE) return uint8(_LAB);
        if (role == RETAILER_ROLE) return uint8(_RETAILER);
        if (role == REGULATOR_ROLE) return uint8(_REGULATOR);
        revert TraceRegistryUnknownRole(role);
    }

    // ------------------------------------------------------------------ internal: raw access

    /// @dev The Organisation word of `account` (zero when not admitted).
    function _orgWord(address account) private view returns (uint256 w) {
        assembly ("memory-safe") {
            mstore(0x00, account)
            mstore(0x20, _orgs.slot)
            w := sload(keccak256(0x00, 0x40))
        }
    }

    /// @dev The storage slot of `_batches[batchId]`.
    function _batchSlot(bytes32 batchId) private pure returns (uint256 slot) {
        assembly ("memory-safe") {
            mstore(0x00, batchId)
            mstore(0x20, _batches.slot)
            slot := keccak256(0x00, 0x40)
        }
    }

    /// @dev The Batch word of `batchId` (zero when unknown).
    function _batchWord(bytes32 batchId) private view returns (uint256) {
        return _sload(_batchSlot(batchId));
    }

    function _sload(uint256 slot) private view returns (uint256 w) {
        assembly ("memory-safe") {
            w := sload(slot)
        }
    }

    function _sstore(uint256 slot, uint256 w) private {
        assembly ("memory-safe") {
            sstore(slot, w)
        }
    }

    /// @dev The calldata word at offset `at`.
    function _word(uint256 at) private pure returns (uint256 w) {
        assembly ("memory-safe") {
            w := calldataload(at)
        }
    }

    /// @dev The `size`-byte big-endian unsigned integer at calldata offset `at` (1 ≤ size ≤ 32).
    function _load(uint256 at, uint256 size) private pure returns (uint256 v) {
        assembly ("memory-safe") {
            v := shr(sub(256, shl(3, size)), calldataload(at))
        }
    }

    /// @dev Emits a log with topics (topic0, batchId, eventId, caller) and two data words: the
    /// shape of CustodyHandedOver, CustodyAccepted, CustodyHandOverCancelled and EventAnchored.
    function _logTwoWords(bytes32 topic0, bytes32 batchId, bytes32 eventId, uint256 a, uint256 b) private {
        assembly ("memory-safe") {
            let m := mload(0x40)
            mstore(m, a)
            mstore(add(m, 0x20), b)
            log4(m, 0x40, topic0, batchId, eventId, caller())
        }
    }

    // ------------------------------------------------------------------ internal: AccessControl

    /// @dev Keeps the organisation's role bits in step; registry roles need an admitted account.
    function _grantRole(bytes32 role, address account) internal override returns (bool) {
        if (role != DEFAULT_ADMIN_ROLE) {
            uint8 bit = _bitOf(role);
            Organisation storage org = _orgs[account];
            if (org.id == 0) revert TraceRegistryUnknownOrganisation(account);
            org.roles |= bit;
        }
        return super._grantRole(role, account);
    }

    /// @dev Revocation takes effect at once: the role bit is cleared with the AccessControl role.
    function _revokeRole(bytes32 role, address account) internal override returns (bool) {
        if (role != DEFAULT_ADMIN_ROLE) {
            _orgs[account].roles &= ~_bitOf(role);
        }
        return super._revokeRole(role, account);
    }
}
