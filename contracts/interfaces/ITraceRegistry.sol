// SPDX-License-Identifier: MIT
pragma solidity 0.8.28;

/// @title ITraceRegistry — the milktrace registry specification
/// @notice Farm-to-shelf traceability for infant milk, aligned with GS1 EPCIS 2.0 / CBV.
/// A traceable batch is named by its GS1 Digital Link path `/01/{GTIN-14}/10/{lot}`; its id
/// is `keccak256` of that path (UTF-8). History lives in events; storage holds only what the
/// registry checks (who holds a batch, who it is offered to, its producer and status, and
/// each organisation's roles).
///
/// Every record event has the batch id as topic 1, the source event id as topic 2 (the EPCIS
/// event hash, `ni:///sha-256;...` as bytes32, or the hash of a canonical CSV row) and the
/// acting account as topic 3, so that:
///  - one `eth_getLogs` on topic 1 returns a batch's whole story (including links to the
///    batches made from it, see {BatchDerived});
///  - one `eth_getLogs` on topic 2 tells whether a source event is already on chain;
///  - one `eth_getLogs` on topic 3 returns everything an organisation wrote.
/// Times are unix seconds (`eventTime`, from the source event); dates are `YYYYMMDD`.
/// Role grants and revocations are OpenZeppelin AccessControl's `RoleGranted` / `RoleRevoked`.
interface ITraceRegistry {
    // ------------------------------------------------------------------ types

    /// @notice Lifecycle status of a batch. `Recalled` is final.
    enum Status {
        Unknown, // never commissioned
        Active, // commissioned, no status decision yet
        Quarantined, // held back pending investigation
        Released, // released for sale (positive release after testing, or out of quarantine)
        Recalled // withdrawn from the market; final
    }

    /// @notice EPCIS event type of an anchored event (see {anchor}).
    enum AnchorKind {
        Object,
        Aggregation,
        Transformation,
        Transaction,
        Association
    }

    /// @notice Record kinds in the packed encoding of {submit}.
    enum RecordKind {
        Commission, // 0
        HandOver, // 1
        Accept, // 2
        CancelHandOver, // 3
        Quality, // 4
        Condition, // 5
        Status, // 6
        Anchor // 7
    }

    /// @notice An admitted organisation, as stored (one slot). `id == 0` means not admitted.
    struct Organisation {
        /// @notice Sequential organisation number, from 1; 0 when not admitted.
        uint32 id;
        /// @notice Bit set of roles: 1 PRODUCER, 2 CARRIER, 4 LAB, 8 RETAILER, 16 REGULATOR.
        uint8 roles;
        /// @notice GS1 Global Location Number (13 digits, check digit verified on admission).
        uint64 gln;
        /// @notice ISO 3166-1 alpha-2 country code, ASCII (e.g. "FR", "CN").
        bytes2 country;
    }

    /// @notice What the registry stores about a batch (one slot), as returned by {batchState}.
    struct BatchView {
        /// @notice Account holding custody now; zero for an unknown batch.
        address holder;
        /// @notice Account a hand-over is pending to; zero when none.
        address pending;
        /// @notice Account of the producer that commissioned the batch.
        address producer;
        /// @notice Current status.
        Status status;
    }

    /// @notice Arguments of {commission}: a batch commissioning or a transformation output.
    struct Commission {
        /// @notice keccak256 of `/01/{GTIN-14}/10/{lot}`; must match `gtin` and `lot`.
        bytes32 batchId;
        /// @notice Id of the source event (EPCIS event hash or CSV row hash).
        bytes32 eventId;
        /// @notice GTIN-14 as an integer (leading zeros implied); check digit verified.
        uint64 gtin;
        /// @notice Lot number (GS1 AI 10): 1–20 characters from `A-Z a-z 0-9 - . _`.
        string lot;
        /// @notice Production date, `YYYYMMDD`.
        uint32 productionDate;
        /// @notice Expiry date, `YYYYMMDD`; must be after `productionDate`.
        uint32 expiryDate;
        /// @notice Quantity produced, in `unit`.
        uint64 quantity;
        /// @notice UN/ECE Rec 20 unit code, ASCII, left-aligned (e.g. "LTR", "KGM", "H87").
        bytes8 unit;
        /// @notice GLN of the production site.
        uint64 siteGln;
        /// @notice Batches this one was made from (transformation inputs); each must exist and
        /// not be recalled. Empty for a plain commissioning.
        bytes32[] parents;
        /// @notice Source event time, unix seconds.
        uint64 eventTime;
    }

    /// @notice Arguments of {recordQuality}: one laboratory result.
    struct QualityResult {
        /// @notice The batch tested.
        bytes32 batchId;
        /// @notice Id of the source event.
        bytes32 eventId;
        /// @notice Test code, ASCII, left-aligned (e.g. "MELAMINE", "AFLATOXIN_M1", "CRONOBACTER").
        bytes16 testCode;
        /// @notice Verdict: true when the result conforms to the specification.
        bool passed;
        /// @notice Measured value in micro-units of `unit` (value × 10^6), signed.
        int64 value;
        /// @notice Unit code, ASCII, left-aligned (e.g. "MGKG" for mg/kg, "CFU10G", "PCT").
        bytes8 unit;
        /// @notice sha-256 of the laboratory report file.
        bytes32 reportHash;
        /// @notice Source event time, unix seconds.
        uint64 eventTime;
    }

    /// @notice Arguments of {recordCondition}: a cold-chain summary of many sensor readings.
    struct ConditionSummary {
        /// @notice The batch whose conditions were measured.
        bytes32 batchId;
        /// @notice Id of the source event.
        bytes32 eventId;
        /// @notice Merkle root (sorted-pair keccak256) over the readings' leaf hashes.
        bytes32 readingsRoot;
        /// @notice Number of readings under the root.
        uint32 count;
        /// @notice Lowest temperature, hundredths of a degree Celsius.
        int32 minValue;
        /// @notice Highest temperature, hundredths of a degree Celsius.
        int32 maxValue;
        /// @notice True when any reading broke the agreed range (an excursion).
        bool alarm;
        /// @notice Source event time (end of the measured period), unix seconds.
        uint64 eventTime;
    }

    // ------------------------------------------------------------------ errors

    /// @notice `account` is not an admitted organisation.
    /// @param account The account that was expected to be admitted.
    error TraceRegistryUnknownOrganisation(address account);

    /// @notice `account` is already an admitted organisation.
    /// @param account The account.
    error TraceRegistryOrganisationExists(address account);

    /// @notice `caller` lacks `role` for this action.
    /// @param caller The calling account.
    /// @param role The role needed (one of the `*_ROLE` constants).
    error TraceRegistryMissingRole(address caller, bytes32 role);

    /// @notice `caller` holds no registry role (it is not admitted, or all its roles were
    /// revoked); custody, condition and anchor records need at least one.
    /// @param caller The calling account.
    error TraceRegistryNoRole(address caller);

    /// @notice `role` is not one the registry knows.
    /// @param role The role given.
    error TraceRegistryUnknownRole(bytes32 role);

    /// @notice An account tried to grant a role to itself.
    /// @param account The account.
    /// @param role The role.
    error TraceRegistrySelfGrant(address account, bytes32 role);

    /// @notice `gln` is not a 13-digit GLN with a valid check digit.
    /// @param gln The GLN given.
    error TraceRegistryInvalidGln(uint64 gln);

    /// @notice `gtin` is not a GTIN-14 with a valid check digit.
    /// @param gtin The GTIN given.
    error TraceRegistryInvalidGtin(uint64 gtin);

    /// @notice `lot` is empty, longer than 20 bytes, or holds a character outside `A-Z a-z 0-9 - . _`.
    /// @param lot The lot given.
    error TraceRegistryInvalidLot(string lot);

    /// @notice The batch id does not equal keccak256 of `/01/{gtin}/10/{lot}`.
    /// @param batchId The id given.
    /// @param expected The id computed from GTIN and lot.
    error TraceRegistryBatchIdMismatch(bytes32 batchId, bytes32 expected);

    /// @notice Expiry is not after production.
    /// @param productionDate Production date, YYYYMMDD.
    /// @param expiryDate Expiry date, YYYYMMDD.
    error TraceRegistryInvalidDates(uint32 productionDate, uint32 expiryDate);

    /// @notice The batch was never commissioned.
    /// @param batchId The batch id.
    error TraceRegistryUnknownBatch(bytes32 batchId);

    /// @notice The batch is already commissioned.
    /// @param batchId The batch id.
    error TraceRegistryBatchExists(bytes32 batchId);

    /// @notice The batch is recalled; the action is not allowed on it (or on its children).
    /// @param batchId The recalled batch.
    error TraceRegistryBatchRecalled(bytes32 batchId);

    /// @notice `caller` does not hold the batch.
    /// @param batchId The batch id.
    /// @param caller The calling account.
    error TraceRegistryNotHolder(bytes32 batchId, address caller);

    /// @notice `caller` is not the addressee of the pending hand-over.
    /// @param batchId The batch id.
    /// @param caller The calling account.
    error TraceRegistryNotAddressee(bytes32 batchId, address caller);

    /// @notice A hand-over is already pending; cancel it first.
    /// @param batchId The batch id.
    /// @param pending The current addressee.
    error TraceRegistryHandOverPending(bytes32 batchId, address pending);

    /// @notice No hand-over is pending for the batch.
    /// @param batchId The batch id.
    error TraceRegistryNoHandOver(bytes32 batchId);

    /// @notice A batch cannot be handed over to its own holder.
    /// @param batchId The batch id.
    /// @param to The addressee given.
    error TraceRegistrySelfHandOver(bytes32 batchId, address to);

    /// @notice `caller` may not change the batch's status (neither its producer nor a regulator).
    /// @param batchId The batch id.
    /// @param caller The calling account.
    error TraceRegistryNotStatusAuthority(bytes32 batchId, address caller);

    /// @notice The status transition is not allowed (to Unknown or Active, or from Recalled).
    /// @param batchId The batch id.
    /// @param from The current status.
    /// @param to The requested status.
    error TraceRegistryInvalidStatus(bytes32 batchId, Status from, Status to);

    /// @notice A record could not be decoded. For {submit}: the packed input is truncated, names
    /// a batch index outside its dictionary, has an unknown record kind, or a field out of range
    /// (a boolean other than 0/1, a status or anchor kind past the enum). For {recordQuality} and
    /// {recordCondition}: an argument word is not the canonical ABI encoding of its type.
    /// @param offset For {submit}: byte offset, inside `records`, of the record that could not be
    /// decoded (0 for the batch-id dictionary). For the typed calls: calldata offset of the first
    /// bad argument word (the selector is bytes 0-3).
    error TraceRegistryMalformedRecord(uint256 offset);

    // ------------------------------------------------------------------ events

    /// @notice An organisation was admitted.
    /// @param account Its signing account.
    /// @param orgId Its sequential id.
    /// @param gln Its GLN.
    /// @param name Its display name (UTF-8; shown as text, never as HTML).
    /// @param country ISO 3166-1 alpha-2 code.
    event OrganisationAdmitted(address indexed account, uint32 indexed orgId, uint64 indexed gln, string name, bytes2 country);

    /// @notice A batch was commissioned (EPCIS ObjectEvent ADD `commissioning`, or the output of a
    /// TransformationEvent when `parents` is not empty). The producer holds custody first.
    /// @param batchId The batch id.
    /// @param eventId The source event id.
    /// @param producer The producer's account.
    /// @param gtin GTIN-14 as an integer.
    /// @param lot Lot number.
    /// @param productionDate YYYYMMDD.
    /// @param expiryDate YYYYMMDD.
    /// @param quantity Quantity in `unit`.
    /// @param unit UN/ECE Rec 20 unit code, ASCII.
    /// @param siteGln GLN of the production site.
    /// @param parents Input batches of a transformation.
    /// @param eventTime Source event time, unix seconds.
    event BatchCommissioned(
        bytes32 indexed batchId,
        bytes32 indexed eventId,
        address indexed producer,
        uint64 gtin,
        string lot,
        uint32 productionDate,
        uint32 expiryDate,
        uint64 quantity,
        bytes8 unit,
        uint64 siteGln,
        bytes32[] parents,
        uint64 eventTime
    );

    /// @notice `childId` was made from `parentId`. Emitted once per parent with the parent as
    /// topic 1, so a parent's story lists its children (forward tracing of recalls).
    /// @param parentId The input batch.
    /// @param eventId The source event id (same as the child's {BatchCommissioned}).
    /// @param childId The output batch.
    event BatchDerived(bytes32 indexed parentId, bytes32 indexed eventId, bytes32 indexed childId);

    /// @notice The holder offered the batch to `to` (CBV `shipping`); custody moves on {CustodyAccepted}.
    /// @param batchId The batch id.
    /// @param eventId The source event id.
    /// @param from The holder.
    /// @param to The addressee.
    /// @param eventTime Source event time, unix seconds.
    event CustodyHandedOver(bytes32 indexed batchId, bytes32 indexed eventId, address indexed from, address to, uint64 eventTime);

    /// @notice The addressee accepted the batch (CBV `receiving`) and now holds it.
    /// @param batchId The batch id.
    /// @param eventId The source event id.
    /// @param to The new holder.
    /// @param from The previous holder.
    /// @param eventTime Source event time, unix seconds.
    event CustodyAccepted(bytes32 indexed batchId, bytes32 indexed eventId, address indexed to, address from, uint64 eventTime);

    /// @notice The holder withdrew a pending hand-over.
    /// @param batchId The batch id.
    /// @param eventId The source event id.
    /// @param from The holder.
    /// @param to The addressee that can no longer accept.
    /// @param eventTime Source event time, unix seconds.
    event CustodyHandOverCancelled(bytes32 indexed batchId, bytes32 indexed eventId, address indexed from, address to, uint64 eventTime);

    /// @notice A laboratory result was recorded (CBV `inspecting`, certificationInfo).
    /// @param batchId The batch id.
    /// @param eventId The source event id.
    /// @param lab The laboratory's account.
    /// @param testCode Test code, ASCII.
    /// @param passed Verdict (disposition conformant / non_conformant).
    /// @param value Measured value × 10^6.
    /// @param unit Unit code, ASCII.
    /// @param reportHash sha-256 of the report file.
    /// @param eventTime Source event time, unix seconds.
    event QualityRecorded(
        bytes32 indexed batchId,
        bytes32 indexed eventId,
        address indexed lab,
        bytes16 testCode,
        bool passed,
        int64 value,
        bytes8 unit,
        bytes32 reportHash,
        uint64 eventTime
    );

    /// @notice A cold-chain summary was recorded (EPCIS sensorElementList).
    /// @param batchId The batch id.
    /// @param eventId The source event id.
    /// @param recorder The holder (or pending addressee) that recorded it.
    /// @param readingsRoot Merkle root of the readings.
    /// @param count Number of readings.
    /// @param minValue Lowest temperature, 0.01 °C.
    /// @param maxValue Highest temperature, 0.01 °C.
    /// @param alarm True on an excursion.
    /// @param eventTime Source event time, unix seconds.
    event ConditionRecorded(
        bytes32 indexed batchId,
        bytes32 indexed eventId,
        address indexed recorder,
        bytes32 readingsRoot,
        uint32 count,
        int32 minValue,
        int32 maxValue,
        bool alarm,
        uint64 eventTime
    );

    /// @notice The batch's status changed (quarantine, release, recall; CBV disposition and
    /// persistentDisposition `recalled`). Recalls are rare: a reader may fetch all of them with
    /// one `eth_getLogs` on this event's topic 0 and match them against a batch's ancestry.
    /// @param batchId The batch id.
    /// @param eventId The source event id.
    /// @param by The producer or regulator's account.
    /// @param status The new status.
    /// @param reason Reason code, ASCII (e.g. "CRONOBACTER", "MELAMINE", "PRECAUTION").
    /// @param noticeHash sha-256 of the notice (recall notice, quarantine order), or zero.
    /// @param eventTime Source event time, unix seconds.
    event BatchStatusChanged(
        bytes32 indexed batchId,
        bytes32 indexed eventId,
        address indexed by,
        Status status,
        bytes16 reason,
        bytes32 noticeHash,
        uint64 eventTime
    );

    /// @notice Another EPCIS event concerning the batch was anchored by its hash.
    /// @param batchId The batch id.
    /// @param eventId The EPCIS event hash.
    /// @param by The account that anchored it.
    /// @param kind The EPCIS event type.
    /// @param eventTime Source event time, unix seconds.
    event EventAnchored(bytes32 indexed batchId, bytes32 indexed eventId, address indexed by, AnchorKind kind, uint64 eventTime);

    // ------------------------------------------------------------------ roles

    /// @notice The producer role (bit 1): commissions batches, sets its own batches' status.
    /// @return keccak256("PRODUCER_ROLE").
    function PRODUCER_ROLE() external view returns (bytes32);

    /// @notice The carrier role (bit 2): transport and warehouses.
    /// @return keccak256("CARRIER_ROLE").
    function CARRIER_ROLE() external view returns (bytes32);

    /// @notice The laboratory role (bit 4): records quality results.
    /// @return keccak256("LAB_ROLE").
    function LAB_ROLE() external view returns (bytes32);

    /// @notice The retailer role (bit 8): importers, distributors, shops.
    /// @return keccak256("RETAILER_ROLE").
    function RETAILER_ROLE() external view returns (bytes32);

    /// @notice The regulator role (bit 16): may quarantine, release or recall any batch.
    /// @return keccak256("REGULATOR_ROLE").
    function REGULATOR_ROLE() external view returns (bytes32);

    // ------------------------------------------------------------------ organisations

    /// @notice Admits `account` as an organisation and grants it `roles` (a bit set).
    /// @dev Requirements: caller has DEFAULT_ADMIN_ROLE; `account` is not admitted and is not the
    /// caller; `gln` is a valid GLN; `roles` uses only known bits.
    /// Emits an {OrganisationAdmitted} event and a `RoleGranted` event per role.
    /// @param account The organisation's signing account.
    /// @param name Display name.
    /// @param gln GLN of the organisation.
    /// @param country ISO 3166-1 alpha-2 code, ASCII.
    /// @param roles Bit set of roles to grant.
    function admitOrganisation(address account, string calldata name, uint64 gln, bytes2 country, uint8 roles) external;

    /// @notice The stored record of `account` (`id == 0` when not admitted).
    /// @param account The account.
    /// @return The organisation record.
    function organisation(address account) external view returns (Organisation memory);

    /// @notice The account of organisation number `orgId` (zero when none).
    /// @param orgId The organisation id.
    /// @return The account.
    function organisationAccount(uint32 orgId) external view returns (address);

    /// @notice Number of organisations admitted so far.
    /// @return The count.
    function organisationCount() external view returns (uint32);

    // ------------------------------------------------------------------ batches

    /// @notice Commissions a batch (or a transformation's output when `c.parents` is not empty).
    /// @dev Requirements: caller has PRODUCER_ROLE; the id matches GTIN and lot; the GTIN check
    /// digit is valid; the lot is well-formed; expiry is after production; the batch is new;
    /// every parent exists and is not recalled.
    /// Emits a {BatchCommissioned} event and a {BatchDerived} event per parent.
    /// @param c The commissioning.
    function commission(Commission calldata c) external;

    /// @notice Offers custody of a batch to `to`.
    /// @dev Requirements: caller holds the batch and has a role; `to` is an admitted organisation
    /// with a role, other than the caller; no hand-over is pending.
    /// Emits a {CustodyHandedOver} event.
    /// @param batchId The batch.
    /// @param eventId The source event id.
    /// @param to The addressee.
    /// @param eventTime Source event time, unix seconds.
    function handOver(bytes32 batchId, bytes32 eventId, address to, uint64 eventTime) external;

    /// @notice Accepts a pending hand-over; the caller becomes the holder.
    /// @dev Requirements: caller is the pending addressee and has a role.
    /// Emits a {CustodyAccepted} event.
    /// @param batchId The batch.
    /// @param eventId The source event id.
    /// @param eventTime Source event time, unix seconds.
    function accept(bytes32 batchId, bytes32 eventId, uint64 eventTime) external;

    /// @notice Withdraws a pending hand-over.
    /// @dev Requirements: caller holds the batch and has a role; a hand-over is pending.
    /// Emits a {CustodyHandOverCancelled} event.
    /// @param batchId The batch.
    /// @param eventId The source event id.
    /// @param eventTime Source event time, unix seconds.
    function cancelHandOver(bytes32 batchId, bytes32 eventId, uint64 eventTime) external;

    /// @notice Records a laboratory result.
    /// @dev Requirements: caller has LAB_ROLE; the batch exists; each field of `q` is the
    /// canonical ABI encoding of its type (else {TraceRegistryMalformedRecord} with the offset
    /// of the first bad word).
    /// Emits a {QualityRecorded} event.
    /// @param q The result.
    function recordQuality(QualityResult calldata q) external;

    /// @notice Records a cold-chain summary.
    /// @dev Requirements: caller holds the batch or is its pending addressee, and has a role;
    /// each field of `s` is the canonical ABI encoding of its type (else
    /// {TraceRegistryMalformedRecord} with the offset of the first bad word).
    /// Emits a {ConditionRecorded} event.
    /// @param s The summary.
    function recordCondition(ConditionSummary calldata s) external;

    /// @notice Quarantines, releases or recalls a batch.
    /// @dev Requirements: caller is the batch's producer (with PRODUCER_ROLE) or has
    /// REGULATOR_ROLE; `status` is Quarantined, Released or Recalled; the batch is not recalled.
    /// Emits a {BatchStatusChanged} event.
    /// @param batchId The batch.
    /// @param eventId The source event id.
    /// @param status The new status.
    /// @param reason Reason code, ASCII.
    /// @param noticeHash sha-256 of the notice, or zero.
    /// @param eventTime Source event time, unix seconds.
    function setStatus(bytes32 batchId, bytes32 eventId, Status status, bytes16 reason, bytes32 noticeHash, uint64 eventTime) external;

    /// @notice Anchors the hash of another EPCIS event against a batch.
    /// @dev Requirements: caller is an admitted organisation with a role; the batch exists.
    /// Emits an {EventAnchored} event.
    /// @param batchId The batch.
    /// @param eventId The EPCIS event hash.
    /// @param kind The EPCIS event type.
    /// @param eventTime Source event time, unix seconds.
    function anchor(bytes32 batchId, bytes32 eventId, AnchorKind kind, uint64 eventTime) external;

    /// @notice Applies many records, of any kinds and for any batches, in one transaction, in
    /// order; all or nothing. The input is tightly packed (big-endian, no padding): a dictionary
    /// of the batch ids the call touches, then the records, each naming its batch by index:
    ///
    ///     batchCount:uint16 | batchIds:bytes32[batchCount] | record...
    ///     record = kind:uint8 | batchIndex:uint16 | eventId:bytes32 | eventTime:uint40 | body
    ///
    /// `kind` is a {RecordKind}; `batchIndex` < `batchCount`; the body by kind:
    ///  - Commission (0):  gtin:uint64 | productionDate:uint32 | expiryDate:uint32 | quantity:uint64 |
    ///                     unit:bytes8 | siteGln:uint64 | lotLength:uint8 | lot:bytes[lotLength] |
    ///                     parentCount:uint8 | parents:bytes32[parentCount]   (42 + lotLength + 32 × parentCount bytes)
    ///  - HandOver (1):    to:address                                              (20 bytes)
    ///  - Accept (2), CancelHandOver (3): empty
    ///  - Quality (4):     testCode:bytes16 | passed:uint8 | value:int64 | unit:bytes8 | reportHash:bytes32   (65 bytes)
    ///  - Condition (5):   readingsRoot:bytes32 | count:uint32 | minValue:int32 | maxValue:int32 | alarm:uint8 (45 bytes)
    ///  - Status (6):      status:uint8 | reason:bytes16 | noticeHash:bytes32      (49 bytes)
    ///  - Anchor (7):      kind:uint8 (an {AnchorKind})                             (1 byte)
    /// Records follow one another with nothing between them and end exactly at the end of the
    /// input; a call with a dictionary and no record does nothing. `passed` and `alarm` are 0
    /// or 1; `value`, `minValue`, `maxValue` are two's complement. Events carry the fields with
    /// their ABI types (`eventTime` as uint64). `src/milktrace/records.py` `pack` writes this.
    /// @dev Requirements: those of each record's single-record function, for the caller, checked
    /// against the state left by the records before it; the input is well-formed.
    /// Reverts {TraceRegistryMalformedRecord} with the record's byte offset when a record is
    /// truncated, its batch index is out of range, its kind is unknown, or a field is out of range.
    /// Emits the events of each record, in order.
    /// @param records The packed dictionary and records.
    function submit(bytes calldata records) external;

    // ------------------------------------------------------------------ views

    /// @notice What storage holds about a batch.
    /// @param batchId The batch.
    /// @return The holder, pending addressee, producer and status (all zero when unknown).
    function batchState(bytes32 batchId) external view returns (BatchView memory);

    /// @notice The account holding the batch (zero when unknown).
    /// @param batchId The batch.
    /// @return The holder.
    function holderOf(bytes32 batchId) external view returns (address);

    /// @notice The batch's status.
    /// @param batchId The batch.
    /// @return The status.
    function statusOf(bytes32 batchId) external view returns (Status);

    /// @notice The statuses of many batches in one call (for readers checking an ancestry).
    /// @param batchIds The batches.
    /// @return statuses The statuses, in order.
    function statusesOf(bytes32[] calldata batchIds) external view returns (Status[] memory statuses);

    /// @notice The canonical Digital Link id of a batch: keccak256 of `/01/{GTIN-14}/10/{lot}`.
    /// @dev Reverts like {commission} on a bad GTIN or lot.
    /// @param gtin GTIN-14 as an integer.
    /// @param lot Lot number.
    /// @return The batch id.
    function batchIdOf(uint64 gtin, string calldata lot) external pure returns (bytes32);
}
