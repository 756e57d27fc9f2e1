// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

import {AccessControl} from "@openzeppelin/contracts/access/AccessControl.sol";
import {ITraceRegistry} from "./interfaces/ITraceRegistry.sol";

/// @title TraceRegistry — farm-to-shelf traceability for infant milk
/// @notice See {ITraceRegistry} for the specification.
/// @dev Gas design: a batch's checked state is one slot of organisation ids (holder, pending,
/// producer) and a status, so a hand-over or an accept rewrites a slot that already exists; an
/// organisation's id and role bits are one slot, so one read serves as the role check. Role bits
/// are kept in step with OpenZeppelin AccessControl by overriding `_grantRole` / `_revokeRole`.
contract TraceRegistry is ITraceRegistry, AccessControl {
    // ------------------------------------------------------------------ roles

    bytes32 public constant PRODUCER_ROLE = keccak256("PRODUCER_ROLE");
    bytes32 public constant CARRIER_ROLE = keccak256("CARRIER_ROLE");
    bytes32 public constant LAB_ROLE = keccak256("LAB_ROLE");
    bytes32 public constant RETAILER_ROLE = keccak256("RETAILER_ROLE");
    bytes32 public constant REGULATOR_ROLE = keccak256("REGULATOR_ROLE");

    uint8 private constant _PRODUCER = 1;
    uint8 private constant _CARRIER = 2;
    uint8 private constant _LAB = 4;
    uint8 private constant _RETAILER = 8;
    uint8 private constant _REGULATOR = 16;
    uint8 private constant _ALL_ROLES = 31;

    // Packed record layout of {submit}: kind | batchId | eventId | eventTime (5 bytes) | body.
    uint256 private constant _HEAD = 70;

    // ------------------------------------------------------------------ storage

    struct Batch {
        uint32 holder;
        uint32 pending;
        uint32 producer;
        Status status;
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
        if (_orgs[account].id != 0) revert TraceRegistryOrganisationExists(account);
        if (!_validGln(gln)) revert TraceRegistryInvalidGln(gln);
        if (roles & ~_ALL_ROLES != 0) revert TraceRegistryUnknownRole(bytes32(uint256(roles)));
        uint32 id = ++_orgCount;
        _orgs[account] = Organisation({id: id, roles: 0, gln: gln, country: country});
        _accounts[id] = account;
        emit OrganisationAdmitted(account, id, gln, name, country);
        for (uint8 bit = 1; bit <= _REGULATOR; bit <<= 1) {
            if (roles & bit != 0) _grantRole(_roleOf(bit), account);
        }
    }

    /// @notice Grants `role` to `account`; nobody can grant a role to itself.
    /// @dev Requirements: caller has the role's admin role; `account` is not the caller; for
    /// registry roles, `account` is an admitted organisation.
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

    // ------------------------------------------------------------------ records

    /// @inheritdoc ITraceRegistry
    function commission(Commission calldata c) external {
        _commission(_orgs[msg.sender], c);
    }

    /// @inheritdoc ITraceRegistry
    function handOver(bytes32 batchId, bytes32 eventId, address to, uint64 eventTime) external {
        _handOver(_orgs[msg.sender], batchId, eventId, to, eventTime);
    }

    /// @inheritdoc ITraceRegistry
    function accept(bytes32 batchId, bytes32 eventId, uint64 eventTime) external {
        _accept(_orgs[msg.sender], batchId, eventId, eventTime);
    }

    /// @inheritdoc ITraceRegistry
    function cancelHandOver(bytes32 batchId, bytes32 eventId, uint64 eventTime) external {
        _cancelHandOver(_orgs[msg.sender], batchId, eventId, eventTime);
    }

    /// @inheritdoc ITraceRegistry
    function recordQuality(QualityResult calldata q) external {
        _requireRole(_orgs[msg.sender].roles, _LAB);
        _requireBatch(q.batchId);
        emit QualityRecorded(q.batchId, q.eventId, msg.sender, q.testCode, q.passed, q.value, q.unit, q.reportHash, q.eventTime);
    }

    /// @inheritdoc ITraceRegistry
    function recordCondition(ConditionSummary calldata s) external {
        _requireCustodian(_orgs[msg.sender], s.batchId);
        emit ConditionRecorded(s.batchId, s.eventId, msg.sender, s.readingsRoot, s.count, s.minValue, s.maxValue, s.alarm, s.eventTime);
    }

    /// @inheritdoc ITraceRegistry
    function setStatus(bytes32 batchId, bytes32 eventId, Status status, bytes16 reason, bytes32 noticeHash, uint64 eventTime)
        external
    {
        _changeStatus(_orgs[msg.sender], batchId, status);
        emit BatchStatusChanged(batchId, eventId, msg.sender, status, reason, noticeHash, eventTime);
    }

    /// @inheritdoc ITraceRegistry
    function anchor(bytes32 batchId, bytes32 eventId, AnchorKind kind, uint64 eventTime) external {
        _requireRole(_orgs[msg.sender].roles, _ALL_ROLES);
        _requireBatch(batchId);
        emit EventAnchored(batchId, eventId, msg.sender, kind, eventTime);
    }

    /// @inheritdoc ITraceRegistry
    function submit(bytes calldata records) external {
        Organisation memory org = _orgs[msg.sender];
        uint256 n = records.length;
        uint256 i;
        while (i < n) {
            if (i + _HEAD > n) revert TraceRegistryMalformedRecord(i);
            bytes calldata r = records[i:];
            uint8 kind = uint8(r[0]);
            uint256 len;
            if (kind == uint8(RecordKind.Quality)) {
                len = _HEAD + 65;
                if (i + len > n) revert TraceRegistryMalformedRecord(i);
                _requireRole(org.roles, _LAB);
                _requireBatch(bytes32(r[1:33]));
                emit QualityRecorded(
                    bytes32(r[1:33]),
                    bytes32(r[33:65]),
                    msg.sender,
                    bytes16(r[70:86]),
                    r[86] != 0,
                    int64(uint64(bytes8(r[87:95]))),
                    bytes8(r[95:103]),
                    bytes32(r[103:135]),
                    uint40(bytes5(r[65:70]))
                );
            } else if (kind == uint8(RecordKind.Condition)) {
                len = _HEAD + 45;
                if (i + len > n) revert TraceRegistryMalformedRecord(i);
                _requireCustodian(org, bytes32(r[1:33]));
                emit ConditionRecorded(
                    bytes32(r[1:33]),
                    bytes32(r[33:65]),
                    msg.sender,
                    bytes32(r[70:102]),
                    uint32(bytes4(r[102:106])),
                    int32(uint32(bytes4(r[106:110]))),
                    int32(uint32(bytes4(r[110:114]))),
                    r[114] != 0,
                    uint40(bytes5(r[65:70]))
                );
            } else if (kind == uint8(RecordKind.HandOver)) {
                len = _HEAD + 20;
                if (i + len > n) revert TraceRegistryMalformedRecord(i);
                _handOver(org, bytes32(r[1:33]), bytes32(r[33:65]), address(bytes20(r[70:90])), uint40(bytes5(r[65:70])));
            } else if (kind == uint8(RecordKind.Accept)) {
                len = _HEAD;
                _accept(org, bytes32(r[1:33]), bytes32(r[33:65]), uint40(bytes5(r[65:70])));
            } else if (kind == uint8(RecordKind.CancelHandOver)) {
                len = _HEAD;
                _cancelHandOver(org, bytes32(r[1:33]), bytes32(r[33:65]), uint40(bytes5(r[65:70])));
            } else if (kind == uint8(RecordKind.Status)) {
                len = _HEAD + 49;
                if (i + len > n) revert TraceRegistryMalformedRecord(i);
                uint8 s = uint8(r[70]);
                if (s > uint8(Status.Recalled)) revert TraceRegistryMalformedRecord(i);
                _changeStatus(org, bytes32(r[1:33]), Status(s));
                emit BatchStatusChanged(
                    bytes32(r[1:33]), bytes32(r[33:65]), msg.sender, Status(s), bytes16(r[71:87]), bytes32(r[87:119]), uint40(bytes5(r[65:70]))
                );
            } else if (kind == uint8(RecordKind.Anchor)) {
                len = _HEAD + 1;
                if (i + len > n) revert TraceRegistryMalformedRecord(i);
                uint8 k = uint8(r[70]);
                if (k > uint8(AnchorKind.Association)) revert TraceRegistryMalformedRecord(i);
                _requireRole(org.roles, _ALL_ROLES);
                _requireBatch(bytes32(r[1:33]));
                emit EventAnchored(bytes32(r[1:33]), bytes32(r[33:65]), msg.sender, AnchorKind(k), uint40(bytes5(r[65:70])));
            } else if (kind == uint8(RecordKind.Commission)) {
                len = _submitCommission(org, r, i, n);
            } else {
                revert TraceRegistryMalformedRecord(i);
            }
            i += len;
        }
    }

    // ------------------------------------------------------------------ views

    /// @inheritdoc ITraceRegistry
    function batchState(bytes32 batchId) external view returns (BatchView memory) {
        Batch memory b = _batches[batchId];
        return BatchView({
            holder: _accounts[b.holder],
            pending: _accounts[b.pending],
            producer: _accounts[b.producer],
            status: b.status
        });
    }

    /// @inheritdoc ITraceRegistry
    function holderOf(bytes32 batchId) external view returns (address) {
        return _accounts[_batches[batchId].holder];
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
        return _batchIdOf(gtin, bytes(lot));
    }

    // ------------------------------------------------------------------ internal: records

    function _commission(Organisation memory org, Commission memory c) private {
        _requireRole(org.roles, _PRODUCER);
        bytes32 expected = _batchIdOf(c.gtin, bytes(c.lot));
        if (c.batchId != expected) revert TraceRegistryBatchIdMismatch(c.batchId, expected);
        if (c.expiryDate <= c.productionDate) revert TraceRegistryInvalidDates(c.productionDate, c.expiryDate);
        if (_batches[c.batchId].status != Status.Unknown) revert TraceRegistryBatchExists(c.batchId);
        for (uint256 p; p < c.parents.length; ++p) {
            Status s = _batches[c.parents[p]].status;
            if (s == Status.Unknown) revert TraceRegistryUnknownBatch(c.parents[p]);
            if (s == Status.Recalled) revert TraceRegistryBatchRecalled(c.parents[p]);
        }
        _batches[c.batchId] = Batch({holder: org.id, pending: 0, producer: org.id, status: Status.Active});
        emit BatchCommissioned(
            c.batchId,
            c.eventId,
            msg.sender,
            c.gtin,
            c.lot,
            c.productionDate,
            c.expiryDate,
            c.quantity,
            c.unit,
            c.siteGln,
            c.parents,
            c.eventTime
        );
        for (uint256 p; p < c.parents.length; ++p) {
            emit BatchDerived(c.parents[p], c.eventId, c.batchId);
        }
    }

    /// @dev Decodes a packed Commission record at `records[offset:]`; returns its length.
    function _submitCommission(Organisation memory org, bytes calldata r, uint256 offset, uint256 n)
        private
        returns (uint256 len)
    {
        if (offset + 112 > n) revert TraceRegistryMalformedRecord(offset);
        uint256 lotLen = uint8(r[110]);
        if (offset + 112 + lotLen > n) revert TraceRegistryMalformedRecord(offset);
        uint256 parentCount = uint8(r[111 + lotLen]);
        len = 112 + lotLen + 32 * parentCount;
        if (offset + len > n) revert TraceRegistryMalformedRecord(offset);
        Commission memory c;
        c.batchId = bytes32(r[1:33]);
        c.eventId = bytes32(r[33:65]);
        c.eventTime = uint40(bytes5(r[65:70]));
        c.gtin = uint64(bytes8(r[70:78]));
        c.productionDate = uint32(bytes4(r[78:82]));
        c.expiryDate = uint32(bytes4(r[82:86]));
        c.quantity = uint64(bytes8(r[86:94]));
        c.unit = bytes8(r[94:102]);
        c.siteGln = uint64(bytes8(r[102:110]));
        c.lot = string(r[111:111 + lotLen]);
        c.parents = new bytes32[](parentCount);
        uint256 at = 112 + lotLen;
        for (uint256 p; p < parentCount; ++p) {
            c.parents[p] = bytes32(r[at:at + 32]);
            at += 32;
        }
        _commission(org, c);
    }

    function _handOver(Organisation memory org, bytes32 batchId, bytes32 eventId, address to, uint64 eventTime) private {
        _requireRole(org.roles, _ALL_ROLES);
        Batch memory b = _batches[batchId];
        if (b.status == Status.Unknown) revert TraceRegistryUnknownBatch(batchId);
        if (b.holder != org.id) revert TraceRegistryNotHolder(batchId, msg.sender);
        if (b.pending != 0) revert TraceRegistryHandOverPending(batchId, _accounts[b.pending]);
        Organisation memory dest = _orgs[to];
        if (dest.id == 0 || dest.roles == 0) revert TraceRegistryUnknownOrganisation(to);
        if (dest.id == org.id) revert TraceRegistrySelfHandOver(batchId, to);
        _batches[batchId] = Batch({holder: b.holder, pending: dest.id, producer: b.producer, status: b.status});
        emit CustodyHandedOver(batchId, eventId, msg.sender, to, eventTime);
    }

    function _accept(Organisation memory org, bytes32 batchId, bytes32 eventId, uint64 eventTime) private {
        _requireRole(org.roles, _ALL_ROLES);
        Batch memory b = _batches[batchId];
        if (b.status == Status.Unknown) revert TraceRegistryUnknownBatch(batchId);
        if (b.pending == 0) revert TraceRegistryNoHandOver(batchId);
        if (b.pending != org.id) revert TraceRegistryNotAddressee(batchId, msg.sender);
        _batches[batchId] = Batch({holder: org.id, pending: 0, producer: b.producer, status: b.status});
        emit CustodyAccepted(batchId, eventId, msg.sender, _accounts[b.holder], eventTime);
    }

    function _cancelHandOver(Organisation memory org, bytes32 batchId, bytes32 eventId, uint64 eventTime) private {
        _requireRole(org.roles, _ALL_ROLES);
        Batch memory b = _batches[batchId];
        if (b.status == Status.Unknown) revert TraceRegistryUnknownBatch(batchId);
        if (b.holder != org.id) revert TraceRegistryNotHolder(batchId, msg.sender);
        if (b.pending == 0) revert TraceRegistryNoHandOver(batchId);
        _batches[batchId] = Batch({holder: b.holder, pending: 0, producer: b.producer, status: b.status});
        emit CustodyHandOverCancelled(batchId, eventId, msg.sender, _accounts[b.pending], eventTime);
    }

    function _changeStatus(Organisation memory org, bytes32 batchId, Status status) private {
        Batch memory b = _batches[batchId];
        if (b.status == Status.Unknown) revert TraceRegistryUnknownBatch(batchId);
        bool isProducer = org.id == b.producer && org.roles & _PRODUCER != 0;
        if (!isProducer && org.roles & _REGULATOR == 0) revert TraceRegistryNotStatusAuthority(batchId, msg.sender);
        if (b.status == Status.Recalled || status == Status.Unknown || status == Status.Active) {
            revert TraceRegistryInvalidStatus(batchId, b.status, status);
        }
        _batches[batchId] = Batch({holder: b.holder, pending: b.pending, producer: b.producer, status: status});
    }

    // ------------------------------------------------------------------ internal: checks

    /// @dev Reverts unless `roles` has one of the bits in `needed`.
    function _requireRole(uint8 roles, uint8 needed) private view {
        if (roles & needed == 0) {
            revert TraceRegistryMissingRole(msg.sender, needed == _ALL_ROLES ? bytes32(0) : _roleOf(needed));
        }
    }

    function _requireBatch(bytes32 batchId) private view {
        if (_batches[batchId].status == Status.Unknown) revert TraceRegistryUnknownBatch(batchId);
    }

    /// @dev The caller holds the batch, or is its pending addressee, and has a role.
    function _requireCustodian(Organisation memory org, bytes32 batchId) private view {
        _requireRole(org.roles, _ALL_ROLES);
        Batch memory b = _batches[batchId];
        if (b.status == Status.Unknown) revert TraceRegistryUnknownBatch(batchId);
        if (b.holder != org.id && b.pending != org.id) revert TraceRegistryNotHolder(batchId, msg.sender);
    }

    /// @dev keccak256 of `/01/{GTIN-14}/10/{lot}`, checking the GTIN check digit and the lot.
    function _batchIdOf(uint64 gtin, bytes memory lot) private pure returns (bytes32) {
        if (gtin >= 1e14) revert TraceRegistryInvalidGtin(gtin);
        bytes memory digits = new bytes(14);
        uint256 x = gtin;
        uint256 sum;
        for (uint256 i = 14; i > 0;) {
            unchecked {
                --i;
                uint256 d = x % 10;
                x /= 10;
                digits[i] = bytes1(uint8(48 + d));
                if (i < 13) sum += (i % 2 == 0) ? 3 * d : d;
            }
        }
        if ((10 - (sum % 10)) % 10 != uint8(digits[13]) - 48) revert TraceRegistryInvalidGtin(gtin);
        uint256 n = lot.length;
        if (n == 0 || n > 20) revert TraceRegistryInvalidLot(string(lot));
        for (uint256 i; i < n; ++i) {
            bytes1 ch = lot[i];
            bool ok = (ch >= "0" && ch <= "9") || (ch >= "A" && ch <= "Z") || (ch >= "a" && ch <= "z") || ch == "-"
                || ch == "." || ch == "_";
            if (!ok) revert TraceRegistryInvalidLot(string(lot));
        }
        return keccak256(abi.encodePacked("/01/", digits, "/10/", lot));
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

    function _roleOf(uint8 bit) private pure returns (bytes32) {
        if (bit == _PRODUCER) return PRODUCER_ROLE;
        if (bit == _CARRIER) return CARRIER_ROLE;
        if (bit == _LAB) return LAB_ROLE;
        if (bit == _RETAILER) return RETAILER_ROLE;
        return REGULATOR_ROLE;
    }

    function _bitOf(bytes32 role) private pure returns (uint8) {
        if (role == PRODUCER_ROLE) return _PRODUCER;
        if (role == CARRIER_ROLE) return _CARRIER;
        if (role == LAB_ROLE) return _LAB;
        if (role == RETAILER_ROLE) return _RETAILER;
        if (role == REGULATOR_ROLE) return _REGULATOR;
        revert TraceRegistryUnknownRole(role);
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
